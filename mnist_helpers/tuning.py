"""Hyper-parameter search over the book's small CNN with KerasTuner.

:func:`build_tunable_cnn` is the search space: the width of the first convolutional
stage (the second has twice as many filters), the dropout rate and Adam's learning rate.
:func:`make_tuner` builds a Bayesian-optimization tuner over it: random trials first,
then trials chosen by a Gaussian process fitted to the finished ones. The same call in
several processes, each with the environment from
:func:`mnist_helpers.workers.kerastuner_environments`, gives KerasTuner's distributed
mode: the chief serves the oracle and the workers run the trials it hands out.

Run a distributed search with
``python -m mnist_helpers.tuning --directory DIR --project NAME --max-trials 6`` in the
chief and every worker.

Example:
    >>> import keras_tuner
    >>> model = build_tunable_cnn(keras_tuner.HyperParameters())
    >>> model.count_params()
    32346
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

FIRST_STAGE_FILTERS = (8, 16, 32)
DROPOUT_RANGE = (0.0, 0.5)
LEARNING_RATE_RANGE = (3e-4, 1e-2)


def build_tunable_cnn(hp: Any) -> Any:
    """Build and compile the small CNN with hyper-parameters drawn from ``hp``.

    The defaults (16 filters, dropout 0.3, learning rate 3e-3) are the values an empty
    ``hp`` gives, outside a search; a search's trials draw their own.
    """
    import keras

    from mnist_helpers import models

    filters = hp.Choice("filters", list(FIRST_STAGE_FILTERS), default=16)
    dropout = hp.Float("dropout", *DROPOUT_RANGE, step=0.1, default=0.3)
    learning_rate = hp.Float("learning_rate", *LEARNING_RATE_RANGE, sampling="log", default=3e-3)
    model = models.build_small_cnn(filters=(filters, 2 * filters), dropout_rate=dropout)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_tuner(
    *,
    directory: str | Path,
    project_name: str,
    max_trials: int,
    initial_points: int | None = None,
    seed: int = 42,
) -> Any:
    """A Bayesian-optimization tuner over :func:`build_tunable_cnn`, judged on validation accuracy.

    The first ``initial_points`` trials are random (``None``: KerasTuner's default of
    three per hyper-parameter, nine here); each later one is the point where a Gaussian
    process fitted to the finished trials gives the best optimistic estimate (KerasTuner's
    upper confidence bound). A search of ``max_trials`` no larger than ``initial_points``
    is a random search.

    Example:
        >>> tuner = make_tuner(
        ...     directory=getfixture("tmp_path"), project_name="doc", max_trials=2, initial_points=1
        ... )
        >>> tuner.oracle.objective.name, tuner.oracle.num_initial_points
        ('val_accuracy', 1)
    """
    import keras_tuner

    if max_trials < 1:
        raise ValueError(f"max_trials must be at least 1; got {max_trials}")
    if initial_points is not None and initial_points < 1:
        raise ValueError(
            f"initial_points must be at least 1 (the Gaussian process needs a finished "
            f"trial to fit); got {initial_points}"
        )
    return keras_tuner.BayesianOptimization(
        build_tunable_cnn,
        objective="val_accuracy",
        max_trials=max_trials,
        num_initial_points=initial_points,
        seed=seed,
        directory=str(directory),
        project_name=project_name,
        overwrite=False,
    )


def search(*, tuner: Any, images: int, epochs: int, batch_size: int = 128) -> None:
    """Run ``tuner``'s search on the book's split: ``images`` training digits, validation digits."""
    from mnist_helpers import data, preprocess

    (x_train, y_train), _ = data.load_mnist()
    (x_fit, y_fit), (x_validation, y_validation) = preprocess.train_validation_split(x_train, y_train)
    tuner.search(
        preprocess.to_images(x_fit[:images]),
        y_fit[:images],
        validation_data=(preprocess.to_images(x_validation), y_validation),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
    )


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One process of a distributed KerasTuner search.")
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--max-trials", type=int, default=6)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--initial-points", type=int, default=None)
    options = parser.parse_args(arguments)
    tuner = make_tuner(
        directory=options.directory,
        project_name=options.project,
        max_trials=options.max_trials,
        initial_points=options.initial_points,
    )
    search(tuner=tuner, images=options.images, epochs=options.epochs)


if __name__ == "__main__":
    main()
