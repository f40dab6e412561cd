"""Recurrent and CNN builders, the warm-up cosine schedule, and time-to-target."""

from __future__ import annotations

import keras
import pytest

from conftest import make_images, make_labels
from mnist_helpers.models import build_recurrent_classifier, build_simple_cnn
from mnist_helpers.preprocess import to_sequences
from mnist_helpers.training import ElapsedTime, fit_timed, seconds_to_reach, warmup_cosine_schedule


def test_blog_lstm_parameter_count() -> None:
    # LSTM(50) on 28 features: 4 gates x (28 + 50 + 1) x 50; the second on 50 inputs;
    # then a dense softmax over 10 classes.
    expected = 4 * (28 + 50 + 1) * 50 + 4 * (50 + 50 + 1) * 50 + 50 * 10 + 10
    assert build_recurrent_classifier(units=(50, 50)).count_params() == expected


def test_recurrent_variants_shapes() -> None:
    gru = build_recurrent_classifier(cell="gru", units=(8,))
    bidirectional = build_recurrent_classifier(units=(8, 8), bidirectional=True)
    assert gru.output_shape == (None, 10)
    assert bidirectional.layers[0].name == "bidirectional_lstm_1"
    assert bidirectional.layers[0].output.shape[-1] == 16


def test_open_time_dimension_reads_prefixes() -> None:
    model = build_recurrent_classifier(units=(4,))
    rows = to_sequences(make_images(3))
    assert model.predict(rows[:, :7], verbose=0).shape == (3, 10)
    unrolled = build_recurrent_classifier(units=(4,), unroll=True)
    assert unrolled.input_shape == (None, 28, 28)


@pytest.mark.parametrize(("arguments", "message"), [({"cell": "rnn"}, "cell must be one of"), ({"units": ()}, "units")])
def test_recurrent_builder_rejects_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_recurrent_classifier(**arguments)


def test_simple_cnn_parameter_count() -> None:
    # 32 5x5 filters, then 12x12x32 pooled features into 128 units, then 10.
    expected = 32 * (25 + 1) + (12 * 12 * 32 + 1) * 128 + (128 + 1) * 10
    assert build_simple_cnn().count_params() == expected


def test_warmup_cosine_schedule_shape() -> None:
    schedule = warmup_cosine_schedule(0.01, epochs=10, steps_per_epoch=100, warmup_epochs=1)
    rates = [float(schedule(step)) for step in (0, 50, 100, 550, 1000)]
    assert rates[0] == pytest.approx(0.001)
    assert rates[1] == pytest.approx(0.0055, rel=1e-3)
    assert rates[2] == pytest.approx(0.01)
    assert rates[2] > rates[3] > rates[4]
    assert rates[4] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"peak_learning_rate": 0}, "peak_learning_rate"), ({"epochs": 0}, "epochs"), ({"warmup_epochs": 10}, "warmup_epochs")],
)
def test_schedule_rejects_bad_arguments(arguments, message) -> None:
    values = {"peak_learning_rate": 0.01, "epochs": 10, "steps_per_epoch": 5} | arguments
    peak = values.pop("peak_learning_rate")
    with pytest.raises(ValueError, match=message):
        warmup_cosine_schedule(peak, **values)


def test_elapsed_time_lands_in_the_history() -> None:
    keras.utils.set_random_seed(0)
    model = build_recurrent_classifier(units=(4,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rows, labels = to_sequences(make_images(20)), make_labels(20)
    run = fit_timed(model, rows, labels, validation_data=(rows, labels), epochs=3, batch_size=10, callbacks=[ElapsedTime()], verbose=0)
    elapsed = run.history["elapsed_seconds"]
    assert len(elapsed) == 3 and all(later > earlier for earlier, later in zip(elapsed, elapsed[1:]))


def test_seconds_to_reach() -> None:
    history = {"val_accuracy": [0.9, 0.95, 0.99], "elapsed_seconds": [1.0, 2.0, 3.0]}
    assert seconds_to_reach(history, metric="val_accuracy", target=0.95) == 2.0
    assert seconds_to_reach(history, metric="val_accuracy", target=0.995) is None
    with pytest.raises(ValueError, match="ElapsedTime"):
        seconds_to_reach({"val_accuracy": [0.9]}, metric="val_accuracy", target=0.5)
    with pytest.raises(ValueError, match="no 'accuracy'"):
        seconds_to_reach(history, metric="accuracy", target=0.5)
