"""Model builders, training helpers and figures, on tiny synthetic data."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from conftest import make_images, make_labels
from mnist_helpers import plots
from mnist_helpers.models import build_mlp
from mnist_helpers.preprocess import to_flat
from mnist_helpers.training import classification_error, fit_timed, predict_probabilities


def test_seed_mlp_has_the_tutorial_parameter_count() -> None:
    # 784*784 + 784 weights and biases in the hidden layer, 784*10 + 10 in the output.
    assert build_mlp(hidden_units=(784,)).count_params() == 784 * 784 + 784 + 784 * 10 + 10


def test_mlp_with_dropout_and_two_layers() -> None:
    model = build_mlp(hidden_units=(32, 16), dropout_rate=0.2, num_classes=5)
    assert [layer.name for layer in model.layers] == [
        "hidden_1", "dropout_1", "hidden_2", "dropout_2", "probabilities"
    ]
    assert model.output_shape == (None, 5)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"hidden_units": ()}, "hidden_units"), ({"dropout_rate": 1.0}, "dropout_rate"), ({"num_classes": 1}, "num_classes")],
)
def test_mlp_rejects_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_mlp(**arguments)


def test_fit_timed_trains_and_times_and_requires_validation() -> None:
    keras.utils.set_random_seed(0)
    x, y = to_flat(make_images(40)), make_labels(40)
    model = build_mlp(hidden_units=(16,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    run = fit_timed(model, x, y, validation_data=(x, y), epochs=2, batch_size=20, verbose=0)
    assert run.epochs == 2 and run.seconds > 0
    assert set(run.history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    probabilities = predict_probabilities(model, x)
    assert probabilities.shape == (40, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="validation_data"):
        fit_timed(model, x, y, validation_data=None, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit_timed(model, x, y, validation_data=(x, y), epochs=0)


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


def test_figures_are_built_without_pyplot() -> None:
    import matplotlib.pyplot as pyplot

    images, labels = make_images(20), make_labels(20)
    probabilities = np.eye(10)[(labels + (np.arange(20) % 3 == 0)) % 10] * 0.9 + 0.01
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
    figures = [
        plots.plot_samples(images, labels, count=12),
        plots.plot_class_balance({"train": labels, "test": labels[:10]}),
        plots.plot_history(history),
        plots.plot_confusion_matrix(labels, probabilities.argmax(axis=1)),
        plots.plot_misclassified(images, labels, probabilities, count=5),
    ]
    assert all(isinstance(figure, Figure) for figure in figures)
    assert pyplot.get_fignums() == [], "no pyplot figure is left open"
    assert len(figures[4].axes) == 5
    assert figures[3].axes[0].get_title() == "Confusion matrix: 7 errors"


def test_misclassified_gallery_with_no_errors() -> None:
    labels = make_labels(5)
    figure = plots.plot_misclassified(make_images(5), labels, np.eye(10)[labels])
    assert figure.texts[0].get_text() == "No misclassified digits"


def test_plot_errors_are_actionable() -> None:
    with pytest.raises(ValueError, match="train with validation_data"):
        plots.plot_history({"loss": [1.0]})
    with pytest.raises(ValueError, match="must match"):
        plots.plot_misclassified(make_images(3), make_labels(3), np.ones((2, 10)))
    with pytest.raises(ValueError, match=r"expected images of shape"):
        plots.plot_samples(np.zeros((2, 5)), [0, 1])
