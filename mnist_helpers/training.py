"""Training and evaluation helpers: timed training runs and test error."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import keras
import numpy as np


@dataclass
class TrainingRun:
    """What a training run produced: the per-epoch history and the seconds it took."""

    history: dict[str, list[float]]
    seconds: float
    epochs: int = field(init=False)

    def __post_init__(self) -> None:
        self.epochs = len(next(iter(self.history.values()), []))


def fit_timed(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    validation_data: Any,
    epochs: int,
    batch_size: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
) -> TrainingRun:
    """Train with ``model.fit`` and return the history with the wall-clock seconds.

    Validation data is required: every training run in the book watches a held-out set.
    ``verbose=2`` prints one line per epoch, which stays readable in a stored notebook.

    Example:
        >>> run = fit_timed(model, x_train, y_train, validation_data=(x_val, y_val),
        ...                 epochs=10, batch_size=200)  # doctest: +SKIP
        >>> run.seconds, run.history["val_accuracy"][-1]  # doctest: +SKIP
    """
    if validation_data is None:
        raise ValueError("pass validation_data: a held-out set shows when the model starts to overfit")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1; got {epochs}")
    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    return TrainingRun(history={key: [float(value) for value in values] for key, values in history.history.items()}, seconds=seconds)


def predict_probabilities(model: keras.Model, x: Any, *, batch_size: int = 1000) -> np.ndarray:
    """Return the model's class probabilities, silently (no progress bar in notebooks).

    Example:
        >>> predict_probabilities(model, x_test).shape  # doctest: +SKIP
        (10000, 10)
    """
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def classification_error(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Return the fraction of examples whose most probable class is not the label.

    Example:
        >>> classification_error(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
        0.5
    """
    from sklearn.metrics import accuracy_score

    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(
            f"expected probabilities of shape ({len(y_true)}, classes); got {probabilities.shape}"
        )
    return float(1.0 - accuracy_score(y_true, probabilities.argmax(axis=1)))
