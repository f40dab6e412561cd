"""Chapter 4's strong recipe for a digit reader, in one place for chapters 4 and 6.

A :class:`ReaderRecipe` holds every setting of one training run of Deotte's CNN: the
epochs, the peak learning rate, the batch size, the affine transforms, the seeds of the
ensemble's members, and the cheap additions (a moving average of the weights, the
average of the last epochs' networks, test-time shifts) that chapter 4 switches on only
where its validation digits say they help. Chapter 4 records the recipe it trained its
members with (:meth:`ReaderRecipe.to_record`); chapter 6, when chapter 4's saved
ensemble is missing, reads that record back (:func:`recorded_recipe`) and trains the
same members with :func:`train_reader`.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from pathlib import Path
from typing import Any, Mapping, Sequence

import keras
import numpy as np

from mnist_helpers import augment, models, results, training

# The name under which chapter 4's results record stores the recipe of its members.
RECORD_KEY = "reader_recipe"

# A quick run, which only checks that the code works, trains at most this much.
QUICK_EPOCHS = 2
QUICK_MEMBERS = 2

_DEFAULT_TRANSFORMS = (("rotation_degrees", 10), ("zoom", 0.1), ("translation", 0.1))
# The strengths digit_augmentation takes; its other keywords (the seed, the block's
# name and resample_once, a switch rather than a strength) are not transforms.
_TRANSFORM_NAMES = tuple(
    name
    for name in inspect.signature(augment.digit_augmentation).parameters
    if name not in ("seed", "name", "resample_once")
)


@dataclasses.dataclass(frozen=True)
class ReaderRecipe:
    """Every setting of one training run of Deotte's CNN with chapter 4's recipe.

    ``transforms`` are keyword arguments of ``augment.digit_augmentation``, as a
    dictionary or as ``(name, strength)`` pairs (kept as pairs); ``seeds`` are the
    members' seeds, the first one also the single model's. An addition set to ``None``
    is off: ``ema_momentum`` keeps a moving average of the weights, ``snapshot_epochs``
    averages the networks after each of the last epochs, ``test_time_shift`` averages
    over copies shifted by that many pixels.

    Example:
        >>> recipe = ReaderRecipe()
        >>> recipe.epochs, recipe.peak_learning_rate, recipe.batch_size, recipe.seeds
        (7, 0.003, 128, (42, 43, 44))
        >>> ReaderRecipe(snapshot_epochs=1)
        Traceback (most recent call last):
        ...
        ValueError: snapshot_epochs must be a whole number from 2 to epochs (7); got 1 (None switches the average off)
    """

    epochs: int = 7
    peak_learning_rate: float = 0.003
    batch_size: int = 128
    transforms: tuple[tuple[str, float], ...] = _DEFAULT_TRANSFORMS
    seeds: tuple[int, ...] = (42, 43, 44)
    ema_momentum: float | None = None
    snapshot_epochs: int | None = None
    test_time_shift: int | None = None

    def __post_init__(self) -> None:
        # The learning rate warms up over the first epoch, so a run needs a second one.
        _check_whole_number("epochs", self.epochs, minimum=2)
        _check_whole_number("batch_size", self.batch_size, minimum=1)
        if not isinstance(self.peak_learning_rate, numbers.Real) or not self.peak_learning_rate > 0:
            raise ValueError(
                f"peak_learning_rate must be a positive number, e.g. 0.003; got {self.peak_learning_rate!r}"
            )
        object.__setattr__(self, "transforms", _transform_pairs(self.transforms))
        object.__setattr__(self, "seeds", _distinct_seeds(self.seeds))
        training.check_ema_momentum(self.ema_momentum)
        if self.snapshot_epochs is not None:
            _check_whole_number(
                "snapshot_epochs",
                self.snapshot_epochs,
                minimum=2,
                maximum=self.epochs,
                advice="None switches the average off",
            )
        if self.test_time_shift is not None:
            _check_whole_number(
                "test_time_shift", self.test_time_shift, minimum=1, advice="None switches the shifts off"
            )

    def transform_strengths(self) -> dict[str, float]:
        """The transforms as keyword arguments of ``augment.digit_augmentation``.

        Example:
            >>> ReaderRecipe().transform_strengths()
            {'rotation_degrees': 10, 'zoom': 0.1, 'translation': 0.1}
        """
        return dict(self.transforms)

    def quick(self) -> ReaderRecipe:
        """The same recipe cut to what a quick run trains: ``QUICK_EPOCHS``, ``QUICK_MEMBERS``.

        Example:
            >>> recipe = ReaderRecipe(snapshot_epochs=3).quick()
            >>> recipe.epochs, recipe.seeds, recipe.snapshot_epochs
            (2, (42, 43), 2)
        """
        epochs = min(self.epochs, QUICK_EPOCHS)
        return dataclasses.replace(
            self,
            epochs=epochs,
            seeds=self.seeds[:QUICK_MEMBERS],
            snapshot_epochs=None if self.snapshot_epochs is None else min(self.snapshot_epochs, epochs),
        )

    def to_record(self) -> dict[str, Any]:
        """The recipe as a JSON-ready dictionary, for a results record.

        Example:
            >>> ReaderRecipe.from_record(ReaderRecipe().to_record()) == ReaderRecipe()
            True
        """
        record = dataclasses.asdict(self)
        record["transforms"] = self.transform_strengths()
        record["seeds"] = list(self.seeds)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ReaderRecipe:
        """Rebuild a recipe from :meth:`to_record`'s dictionary; every setting must be there.

        Example:
            >>> ReaderRecipe.from_record({"epochs": 7, "colour": "red"})
            Traceback (most recent call last):
            ...
            ValueError: a reader recipe has no setting 'colour'; its settings are epochs, peak_learning_rate, batch_size, transforms, seeds, ema_momentum, snapshot_epochs, test_time_shift
        """
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(record) - set(names))
        if unknown:
            raise ValueError(
                f"a reader recipe has no setting {', '.join(map(repr, unknown))}; its settings are "
                + ", ".join(names)
            )
        missing = [name for name in names if name not in record]
        if missing:
            raise ValueError(
                f"the recorded recipe lacks {', '.join(missing)}: it was written by an older "
                "version of chapter 4; run chapter 4 again to record the whole recipe"
            )
        return cls(**record)


def _check_whole_number(
    name: str, value: Any, *, minimum: int, maximum: int | None = None, advice: str = ""
) -> None:
    """Raise a ValueError unless ``value`` is a whole number in [minimum, maximum]."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if whole and minimum <= value and (maximum is None or value <= maximum):
        return
    bounds = f"of at least {minimum}" if maximum is None else f"from {minimum} to epochs ({maximum})"
    raise ValueError(
        f"{name} must be a whole number {bounds}; got {value!r}" + (f" ({advice})" if advice else "")
    )


def _transform_pairs(transforms: Any) -> tuple[tuple[str, float], ...]:
    """``transforms`` as ``(name, strength)`` pairs, each name one of digit_augmentation's."""
    pairs = tuple(dict(transforms).items())
    for name, strength in pairs:
        if name not in _TRANSFORM_NAMES:
            raise ValueError(
                f"{name!r} is not a transform of augment.digit_augmentation; use one of "
                + ", ".join(_TRANSFORM_NAMES)
            )
        if not isinstance(strength, numbers.Real) or isinstance(strength, bool) or strength < 0:
            raise ValueError(f"the strength of {name} must be a number of at least 0; got {strength!r}")
    return pairs


def _distinct_seeds(seeds: Any) -> tuple[int, ...]:
    """``seeds`` as a tuple of distinct whole numbers, at least one."""
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds needs at least one seed, e.g. (42,)")
    for seed in seeds:
        _check_whole_number("each seed", seed, minimum=0)
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"the members' seeds must differ, or two members are the same network; got {seeds}")
    return seeds


def recorded_recipe(path: str | Path) -> ReaderRecipe:
    """Read the recipe chapter 4 recorded with its models in ``path``.

    Example:
        >>> isinstance(recorded_recipe("results/04_augmentation.json"), ReaderRecipe)
        True
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run chapter 4 (04_augmentation.ipynb), which "
            "records its recipe there, or check BOOK_RESULTS_DIR"
        )
    for record in results.read_records(path):
        if RECORD_KEY in record:
            return ReaderRecipe.from_record(record[RECORD_KEY])
    raise ValueError(
        f"{path} has no record with a {RECORD_KEY!r}: it was written before chapter 4 "
        "recorded its recipe; run chapter 4 again to rewrite it"
    )


def build_reader(*, recipe: ReaderRecipe, seed: int) -> keras.Model:
    """Deotte's CNN with the recipe's transforms in front, its augmentation seeded.

    Example:
        >>> build_reader(recipe=ReaderRecipe(), seed=42).name
        'deotte_cnn_42'
    """
    augmentation = augment.digit_augmentation(**recipe.transform_strengths(), seed=seed)
    return models.build_deotte_cnn(augmentation=augmentation, name=f"deotte_cnn_{seed}")


def compile_reader(network: keras.Model, *, recipe: ReaderRecipe, images: int) -> None:
    """Compile with the book's warm-up and cosine Adam for the recipe's epochs over ``images``.

    Example:
        >>> network = build_reader(recipe=ReaderRecipe(), seed=42)
        >>> compile_reader(network, recipe=ReaderRecipe(ema_momentum=0.99), images=1_000)
        >>> network.optimizer.use_ema
        True
    """
    training.compile_classifier(
        network,
        peak_learning_rate=recipe.peak_learning_rate,
        epochs=recipe.epochs,
        examples=images,
        batch_size=recipe.batch_size,
        ema_momentum=recipe.ema_momentum,
    )


def finish_reader(
    network: keras.Model, weight_sets: Sequence[list[np.ndarray]], *, recipe: ReaderRecipe
) -> keras.Model:
    """Apply the recipe's additions to a trained network.

    ``weight_sets`` are the weights after each of the last epochs, oldest first
    (``training.KeepEpochWeights``). With ``snapshot_epochs`` the result averages the
    networks of the last that many; without it and without a moving average, the
    network keeps the last step's weights; with ``test_time_shift`` it averages over
    shifted copies.

    Example:
        >>> network = build_reader(recipe=ReaderRecipe(), seed=42)
        >>> weights = [network.get_weights()] * 2
        >>> finish_reader(network, weights, recipe=ReaderRecipe(snapshot_epochs=2)).name
        'deotte_cnn_42_snapshots'
        >>> finish_reader(network, weights, recipe=ReaderRecipe(test_time_shift=1)).name
        'deotte_cnn_42_shifts'
    """
    if recipe.snapshot_epochs is not None:
        if len(weight_sets) < recipe.snapshot_epochs:
            raise ValueError(
                f"the recipe averages the last {recipe.snapshot_epochs} epochs' networks, "
                f"but only {len(weight_sets)} sets of weights were kept: keep them with "
                f"training.KeepEpochWeights(count={recipe.snapshot_epochs})"
            )
        network = models.snapshot_average(
            network, weight_sets[-recipe.snapshot_epochs :], name=f"{network.name}_snapshots"
        )
    elif recipe.ema_momentum is None:
        # Without a moving average, fit leaves the last step's weights in the network.
        network.set_weights(weight_sets[-1])
    if recipe.test_time_shift is not None:
        network = models.shift_averaging(
            network, shift=recipe.test_time_shift, name=f"{network.name}_shifts"
        )
    return network


def train_reader(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    recipe: ReaderRecipe,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, keras.callbacks.History]:
    """Train one member with the recipe, from ``keras.utils.set_random_seed(seed)`` on.

    Returns the finished network (:func:`finish_reader`) and the history ``fit``
    returned; ``callbacks`` run before the one that keeps the last epochs' weights.

    Example:
        >>> images = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
        >>> recipe = ReaderRecipe(epochs=2, batch_size=32, seeds=(1,))
        >>> reader, history = train_reader(images, np.arange(64) % 10, recipe=recipe, seed=1)
        >>> reader.name, len(history.history["loss"])
        ('deotte_cnn_1', 2)
    """
    keras.utils.set_random_seed(seed)
    network = build_reader(recipe=recipe, seed=seed)
    compile_reader(network, recipe=recipe, images=len(images))
    kept_weights = training.KeepEpochWeights(count=recipe.snapshot_epochs or 1)
    history = network.fit(
        images,
        labels,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        verbose=0,
        callbacks=[*callbacks, kept_weights],
    )
    return finish_reader(network, kept_weights.weights, recipe=recipe), history
