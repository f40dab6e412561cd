"""Training helpers: timing callbacks, the warm-up cosine schedule, time-to-target, errors, CTC."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_images, make_labels

from mnist_helpers import training
from mnist_helpers.models import build_mlp, build_recurrent_classifier
from mnist_helpers.multidigit import BLANK
from mnist_helpers.preprocess import to_flat, to_sequences
from mnist_helpers.training import ElapsedTime, classification_error, seconds_to_reach, warmup_cosine_schedule


def test_fit_with_epoch_log_records_seconds_and_predictions_are_probabilities(capsys) -> None:
    from mnist_helpers.training import EpochLog, training_seconds

    keras.utils.set_random_seed(0)
    x, y = to_flat(make_images(40)), make_labels(40)
    model = build_mlp(hidden_units=(16,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x, y), epochs=2, batch_size=20, verbose=0, callbacks=[EpochLog()])
    assert len(history.history["loss"]) == 2 and training_seconds(history) > 0
    assert set(history.history) >= {"loss", "val_loss", "accuracy", "val_accuracy", "elapsed_seconds"}
    assert capsys.readouterr().out.count("epoch ") == 2
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (40, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_classification_error_is_the_exact_fraction_of_mistakes() -> None:
    # 80 mistakes in 10,000 must compare equal to a threshold of 0.008 (1 - 0.992 does not).
    labels = np.zeros(10_000, dtype=int)
    probabilities = np.tile([1.0, 0.0], (10_000, 1))
    probabilities[:80] = [0.0, 1.0]
    assert classification_error(labels, probabilities) == 0.008


def test_classification_error() -> None:
    probabilities = np.eye(10)[[0, 1, 2, 3]]
    assert classification_error(np.array([0, 1, 2, 9]), probabilities) == 0.25
    with pytest.raises(ValueError, match=r"shape \(3, classes\)"):
        classification_error(np.array([0, 1, 2]), probabilities)


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
    history = model.fit(
        rows, labels, validation_data=(rows, labels), epochs=3, batch_size=10, callbacks=[ElapsedTime()], verbose=0
    )
    elapsed = history.history["elapsed_seconds"]
    assert len(elapsed) == 3 and all(later > earlier for earlier, later in zip(elapsed, elapsed[1:]))


def test_seconds_to_reach() -> None:
    history = {"val_accuracy": [0.9, 0.95, 0.99], "elapsed_seconds": [1.0, 2.0, 3.0]}
    assert seconds_to_reach(history, metric="val_accuracy", target=0.95) == 2.0
    assert seconds_to_reach(history, metric="val_accuracy", target=0.995) is None
    with pytest.raises(ValueError, match="ElapsedTime"):
        seconds_to_reach({"val_accuracy": [0.9]}, metric="val_accuracy", target=0.5)
    with pytest.raises(ValueError, match="no 'accuracy'"):
        seconds_to_reach(history, metric="accuracy", target=0.5)


def test_ctc_loss_is_low_for_the_right_sequence_and_decoding_reads_it() -> None:
    from keras import ops

    from mnist_helpers import training

    steps = np.array([3, 10, 3, 10, 7, 7, 10, 10])
    logits = np.eye(11)[steps][None].astype(np.float32) * 8
    right = np.array([[3, 3, 7, BLANK, BLANK]])
    wrong = np.array([[3, 7, BLANK, BLANK, BLANK]])
    loss_right = float(ops.convert_to_numpy(training.ctc_loss(right, logits))[0])
    loss_wrong = float(ops.convert_to_numpy(training.ctc_loss(wrong, logits))[0])
    assert loss_right < 0.1 < loss_wrong
    assert training.ctc_decode_sequences(logits) == ["337"]
    assert training.ctc_decode_sequences(np.eye(11)[[[10, 10, 10]]]) == [""]


def test_a_model_compiled_with_ctc_loss_clones_and_reloads(tmp_path) -> None:
    from keras import layers

    from mnist_helpers import training

    inputs = keras.Input(shape=(8, 4))
    model = keras.Model(inputs, layers.Dense(11)(inputs))
    model.compile(optimizer="adam", loss=training.ctc_loss)
    assert keras.models.clone_model(model).loss is training.ctc_loss
    model.save(tmp_path / "ctc.keras")
    reloaded = keras.saving.load_model(tmp_path / "ctc.keras")
    assert reloaded.loss is training.ctc_loss


def test_warmup_cosine_adam_keeps_a_moving_average_only_when_asked() -> None:
    assert not training.warmup_cosine_adam(0.003, epochs=2, steps_per_epoch=10).use_ema
    optimizer = training.warmup_cosine_adam(0.003, epochs=2, steps_per_epoch=10, ema_momentum=0.9)
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9
    with pytest.raises(ValueError, match="ema_momentum"):
        training.warmup_cosine_adam(0.003, epochs=2, steps_per_epoch=10, ema_momentum=1.0)


class RecordingModel:
    """Stands in for a compiled model: records the size of what each fit call gets."""

    def __init__(self) -> None:
        self.fits: list[tuple[int, dict]] = []

    def fit(self, inputs, labels=None, **options) -> None:
        self.fits.append((len(inputs), options))


class TakeableBatches:
    """Stands in for a batched tf.data.Dataset of unknown length: take(n) gives n batches."""

    def cardinality(self) -> int:
        return -2  # tf.data.UNKNOWN_CARDINALITY

    def take(self, batches: int) -> list[int]:
        return list(range(batches))


def test_seconds_per_epoch_times_whole_batches_after_a_warm_up(monkeypatch) -> None:
    clock = iter([10.0, 12.0])
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    model = RecordingModel()
    x, y = np.zeros((100, 4), np.float32), np.zeros(100, np.int32)
    seconds = training.seconds_per_epoch(
        model, x, y, batch_size=8, timed_images=50, epoch_images=960, warmup_batches=2
    )
    # The warm-up gets 2 batches; the timed fit 6 whole batches (48 of the 50 images),
    # so its 2 seconds scale to 2 * 960 / 48.
    assert [size for size, _ in model.fits] == [16, 48]
    assert all(options["batch_size"] == 8 for _, options in model.fits)
    assert seconds == pytest.approx(40.0)


def test_seconds_per_epoch_takes_batches_from_a_dataset(monkeypatch) -> None:
    clock = iter([0.0, 3.0])
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    model = RecordingModel()
    seconds = training.seconds_per_epoch(
        model, TakeableBatches(), batch_size=10, timed_images=30, epoch_images=300
    )
    assert [size for size, _ in model.fits] == [5, 3]
    assert all(options["shuffle"] is False for _, options in model.fits)
    assert seconds == pytest.approx(30.0)


def test_seconds_per_epoch_times_a_real_fit() -> None:
    model = build_mlp(hidden_units=(8,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = to_flat(make_images(64)), make_labels(64)
    seconds = training.seconds_per_epoch(
        model, x, y, batch_size=16, timed_images=32, epoch_images=64
    )
    assert 0 < seconds < 60


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(batch_size=0), "must be positive"),
        (dict(timed_images=4), "no whole batch"),
        (dict(timed_images=200), "needs as many inputs"),
        (dict(labels=None), "need as many labels; got no labels"),
        (dict(labels=np.zeros(99)), "got 99 labels"),
    ],
)
def test_seconds_per_epoch_rejects_bad_arguments(arguments, message) -> None:
    options = dict(labels=np.zeros(100), batch_size=8, timed_images=16, epoch_images=100)
    options.update(arguments)
    with pytest.raises(ValueError, match=message):
        training.seconds_per_epoch(RecordingModel(), np.zeros((100, 4)), **options)


@pytest.mark.parametrize(
    ("inputs", "labels", "message"),
    [
        (
            tf.data.Dataset.from_tensor_slices((np.zeros((40, 4)), np.zeros(40))).batch(10),
            None,
            "needs as many in the dataset; it has 4",
        ),
        ([[0.0]] * 60, None, "NumPy array .* tf.data.Dataset of batches; got list"),
        (TakeableBatches(), np.zeros(60), "carries its own labels"),
    ],
)
def test_seconds_per_epoch_rejects_inputs_it_cannot_time(inputs, labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        training.seconds_per_epoch(
            RecordingModel(),
            inputs,
            labels,
            batch_size=10,
            timed_images=50,
            epoch_images=100,
        )


def test_matmul_peak_gflops_is_positive_and_checks_its_arguments() -> None:
    assert training.matmul_peak_gflops(size=128, repeats=1) > 0
    with pytest.raises(ValueError, match="positive"):
        training.matmul_peak_gflops(size=0)


def test_ctc_beam_search_sums_over_paths_where_greedy_reads_one_path() -> None:
    # Two steps; each is blank with probability 0.6 and "1" with 0.4. The best single
    # path is blank-blank (""), but "1" has three paths: 0.4*0.6 + 0.6*0.4 + 0.4*0.4.
    step = np.full(11, -30.0)
    step[1], step[10] = np.log(0.4), np.log(0.6)
    logits = np.stack([step, step])[np.newaxis]
    assert training.ctc_decode_sequences(logits) == [""]
    assert training.ctc_decode_sequences(logits, beam_width=4) == ["1"]
    with pytest.raises(ValueError, match="beam_width"):
        training.ctc_decode_sequences(logits, beam_width=0)


def test_keep_epoch_weights_keeps_the_last_epochs_weights_oldest_first() -> None:
    keras.utils.set_random_seed(0)
    x, y = to_flat(make_images(40)), make_labels(40)
    model = build_mlp(hidden_units=(8,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    class RecordEveryEpoch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())

    keep, every_epoch = training.KeepEpochWeights(count=2), RecordEveryEpoch()
    model.fit(x, y, epochs=4, batch_size=20, verbose=0, callbacks=[keep, every_epoch])
    assert len(keep.weights) == 2
    for kept, expected in zip(keep.weights, every_epoch.weights[-2:]):
        for kept_array, expected_array in zip(kept, expected):
            np.testing.assert_array_equal(kept_array, expected_array)
    # A second fit starts a new record.
    model.fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[keep])
    assert len(keep.weights) == 1


def test_keep_epoch_weights_needs_a_positive_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        training.KeepEpochWeights(count=0)
