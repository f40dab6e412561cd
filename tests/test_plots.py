"""The figures: built without pyplot, and clear errors for inputs they cannot draw."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_images, make_labels
from matplotlib.figure import Figure

from mnist_helpers import plots


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


def test_image_grid_shows_filters_and_checks_its_input() -> None:
    figure = plots.plot_image_grid(np.random.default_rng(0).normal(size=(6, 5, 5)), cmap="RdBu_r", symmetric=True, columns=3)
    assert isinstance(figure, Figure)
    assert len([axis for axis in figure.axes if axis.images]) == 6
    with pytest.raises(ValueError, match="stack of images"):
        plots.plot_image_grid(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="titles"):
        plots.plot_image_grid(np.zeros((2, 5, 5)), titles=["one"])


def test_plot_sequences_marks_wrong_readings() -> None:
    from mnist_helpers import plots

    images = np.zeros((3, 28, 140), np.uint8)
    figure = plots.plot_sequences(images, ["12", "3", "45"], ["12", "8", "45"], columns=3)
    colors = [axis.title.get_color() for axis in figure.axes[:3]]
    assert colors == ["black", "firebrick", "black"]
    assert figure.axes[1].get_title() == "true 3, read 8"
    # Every image is framed and set apart from its neighbours.
    assert all(axis.spines["left"].get_visible() for axis in figure.axes[:3])
    assert figure.get_layout_engine().get()["wspace"] > 0
    with pytest.raises(ValueError, match="one true"):
        plots.plot_sequences(images, ["1"])


def test_plot_error_against_time_draws_the_front_and_names_its_models() -> None:
    import pandas as pd

    from mnist_helpers.plots import plot_error_against_time

    frame = pd.DataFrame(
        {
            "chapter": ["2 MLP", "3 CNN", "3 CNN", "4 augmentation"],
            "model": ["MLP", "Simple CNN", "Slow CNN", "Ensemble"],
            "train_seconds": [10.0, 40.0, 60.0, 600.0],
            "test_error": [0.02, 0.01, 0.012, 0.005],
            "number": [4, 2, 3, 1],
        }
    )
    figure = plot_error_against_time(frame, label="number", front=True, title="t")
    axis = figure.axes[0]
    step = axis.lines[0]
    assert list(step.get_xdata()) == [10.0, 40.0, 600.0]
    keys = [text.get_text() for text in axis.get_legend().get_texts()]
    assert keys == ["4. MLP", "2. Simple CNN", "1. Ensemble"]
    labels = sorted(text.get_text() for text in axis.texts)
    assert labels == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="no column"):
        plot_error_against_time(frame, label="missing")


def test_plot_prepared_titles_the_top_three() -> None:
    probabilities = np.full((2, 10), 0.01)
    probabilities[0, 7], probabilities[0, 1] = 0.9, 0.02
    probabilities[1, 4] = 0.91
    figure = plots.plot_prepared(np.ones((40, 80)), np.zeros((2, 28, 28), np.uint8), probabilities)
    assert figure.axes[1].get_title().splitlines()[:2] == ["7 90%", "1 2%"]
    with pytest.raises(ValueError, match="rows of probabilities"):
        plots.plot_prepared(np.ones((40, 80)), np.zeros((2, 28, 28), np.uint8), probabilities[:1])


def test_plot_history_without_accuracy_draws_only_the_loss_panel() -> None:
    figure = plots.plot_history({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]})
    assert len(figure.axes) == 1
    assert len(plots.plot_history(
        {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.6]}
    ).axes) == 2
