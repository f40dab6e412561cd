"""Images of several MNIST digits side by side, and how to score a read sequence.

Three kinds of image, all 28 pixels high, built from the digits of one MNIST split:

* ``"structured"``: exactly five digits in five 28-pixel slots (28x140);
* ``"variable"``: 1 to 5 digits in randomly chosen slots, the empty slots labelled
  ``BLANK`` (28x140);
* ``"free"``: 1 to 5 digits cropped to their ink, placed left to right with random gaps,
  some overlap and a small vertical jitter on a wider canvas, labelled only by the
  sequence of digits.

A set made from MNIST's training digits never contains a test digit, because the
builder only sees the arrays it is given; ``MultiDigitSet.sources`` records which digit
of those arrays went where, so that this can be checked. The same seed gives the same
images.

Example:
    >>> (x_train, y_train), (x_test, y_test) = data.load_mnist()  # doctest: +SKIP
    >>> test_set = make_multidigit(x_test, y_test, kind="structured", count=2000, seed=1)  # doctest: +SKIP
    >>> test_set.images.shape, test_set.labels[0]  # doctest: +SKIP
    ((2000, 28, 140), array([3, 9, 1, 0, 7]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import keras
import numpy as np

from mnist_helpers.constants import IMAGE_SIDE as DIGIT_SIZE
from mnist_helpers.preprocess import to_strips

BLANK = 10
"""The label of an empty slot, and the padding after a sequence's last digit."""

KINDS = ("structured", "variable", "free")


@dataclass(frozen=True)
class MultiDigitSet:
    """Images of several digits with their labels.

    ``labels`` has one column per slot (``"structured"``, ``"variable"``: the digit in
    each slot, ``BLANK`` where a slot is empty) or per position in the sequence
    (``"free"``: the digits left to right, padded with ``BLANK``). ``sources`` holds, in
    the same layout, the index of the MNIST digit used (-1 where none).
    """

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    kind: str

    def __len__(self) -> int:
        return len(self.images)

    @property
    def lengths(self) -> np.ndarray:
        """The number of digits in each image."""
        return (self.labels != BLANK).sum(axis=1)

    def sequences(self) -> list[str]:
        """The digits of each image read left to right, as strings ("4071")."""
        return label_sequences(self.labels)


def make_multidigit(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    kind: str = "structured",
    count: int = 1000,
    num_slots: int = 5,
    min_digits: int = 1,
    width: int | None = None,
    max_gap: int = 8,
    max_overlap: int = 4,
    vertical_jitter: int = 2,
    seed: int = 0,
) -> MultiDigitSet:
    """Compose ``count`` images of several digits from ``images`` and ``labels``.

    Digits are drawn without replacement until every one has been used, then the order
    starts again: a test set of 2,000 structured images uses each of MNIST's 10,000
    test digits exactly once. ``num_slots`` is the most digits in an image (five slots
    of 28 pixels for ``"structured"`` and ``"variable"``); ``min_digits`` is the fewest
    for ``"variable"`` and ``"free"``. For ``"free"`` only: ``width`` of the canvas
    (default ``28 * num_slots``), gaps between neighbouring digits drawn from
    ``-max_overlap`` (overlapping) to ``max_gap`` pixels, and a vertical shift of up to
    ``vertical_jitter`` pixels per digit.

    Example:
        >>> digits = np.zeros((10, 28, 28), np.uint8); digits[:, 10:18, 12:16] = 255
        >>> sample = make_multidigit(digits, np.arange(10), kind="variable", count=3, seed=0)
        >>> sample.images.shape, sample.labels.shape
        ((3, 28, 140), (3, 5))
    """
    images, labels = _check_digits(images, labels)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1; got {count}")
    if num_slots < 1:
        raise ValueError(f"num_slots must be at least 1; got {num_slots}")
    if not 1 <= min_digits <= num_slots:
        raise ValueError(f"min_digits must be between 1 and num_slots ({num_slots}); got {min_digits}")
    rng = np.random.default_rng(seed)
    if kind == "structured":
        lengths = np.full(count, num_slots)
    else:
        lengths = rng.integers(min_digits, num_slots + 1, size=count)
    order = _draw_without_replacement(rng, len(images), int(lengths.sum()))
    sources = np.full((count, num_slots), -1, dtype=np.int64)
    if kind == "free":
        canvas_width = DIGIT_SIZE * num_slots if width is None else int(width)
        if max_gap < 0 or max_overlap < 0 or vertical_jitter < 0:
            raise ValueError("max_gap, max_overlap and vertical_jitter are pixel counts, zero or more")
        if vertical_jitter >= DIGIT_SIZE // 2:
            raise ValueError(f"vertical_jitter must be under {DIGIT_SIZE // 2} pixels; got {vertical_jitter}")
        if canvas_width < DIGIT_SIZE * num_slots:
            raise ValueError(f"width must be at least {DIGIT_SIZE * num_slots} pixels to hold {num_slots} digits; got {canvas_width}")
        canvas = np.zeros((count, DIGIT_SIZE, canvas_width), dtype=np.uint8)
    else:
        canvas = np.zeros((count, DIGIT_SIZE, DIGIT_SIZE * num_slots), dtype=np.uint8)
    start = 0
    for row, length in enumerate(lengths):
        chosen = order[start : start + length]
        start += length
        if kind == "free":
            _place_freely(canvas[row], images[chosen], rng, max_gap=max_gap, max_overlap=max_overlap, vertical_jitter=vertical_jitter)
            sources[row, :length] = chosen
        else:
            slots = np.arange(num_slots) if kind == "structured" else np.sort(rng.choice(num_slots, size=length, replace=False))
            for slot, index in zip(slots, chosen):
                canvas[row, :, slot * DIGIT_SIZE : (slot + 1) * DIGIT_SIZE] = images[index]
            sources[row, slots] = chosen
    digit_labels = np.where(sources >= 0, labels[np.maximum(sources, 0)], BLANK).astype(np.int64)
    return MultiDigitSet(images=canvas, labels=digit_labels, sources=sources, kind=kind)


class FreshStrips(keras.utils.PyDataset):
    """A training set of multi-digit strips that is composed anew for every epoch.

    MNIST's digits can be combined into far more strips than any fixed set holds, so
    the network need never see the same strip twice: this dataset composes ``count`` new
    strips with :func:`make_multidigit` at the start of every epoch (seed ``seed``, then
    ``seed + 1``, ...), from the same digits, and serves them in batches of
    ``batch_size`` as float32 pixels in [0, 1] with a channel axis (``preprocess.to_strips``), ready for
    ``model.fit``. Other keyword arguments go to :func:`make_multidigit`.

    Example:
        >>> digits = np.zeros((10, 28, 28), np.uint8); digits[:, 10:18, 12:16] = 255
        >>> strips = FreshStrips(digits, np.arange(10), kind="free", count=6, batch_size=4)
        >>> len(strips), strips[0][0].shape, strips[1][1].shape
        (2, (4, 28, 140, 1), (2, 5))
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        kind: str,
        count: int,
        batch_size: int = 128,
        seed: int = 0,
        **strip_options: Any,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {batch_size}")
        self.images, self.labels = _check_digits(images, labels)
        self.kind, self.count, self.batch_size = kind, count, batch_size
        self.seed, self.strip_options = seed, strip_options
        self.epoch = 0
        self.strips = self._compose()

    def _compose(self) -> MultiDigitSet:
        return make_multidigit(
            self.images,
            self.labels,
            kind=self.kind,
            count=self.count,
            seed=self.seed + self.epoch,
            **self.strip_options,
        )

    def __len__(self) -> int:
        return math.ceil(self.count / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return to_strips(self.strips.images[batch]), self.strips.labels[batch]

    def on_epoch_end(self) -> None:
        """Compose the next epoch's strips."""
        self.epoch += 1
        self.strips = self._compose()


def _check_digits(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"images must be MNIST digits of shape (N, 28, 28); got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 pixels 0-255, as load_mnist returns them; got {images.dtype}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), one per image; got {labels.shape}")
    if len(images) == 0:
        raise ValueError("images is empty; pass at least one digit")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"labels must be digits 0-9; got values from {labels.min()} to {labels.max()}")
    return images, labels.astype(np.int64)


def _draw_without_replacement(rng: np.random.Generator, available: int, needed: int) -> np.ndarray:
    """Indices that use every digit once before any is used again."""
    rounds = -(-needed // available)
    return np.concatenate([rng.permutation(available) for _ in range(rounds)])[:needed]


def _ink_columns(digit: np.ndarray) -> np.ndarray:
    columns = np.flatnonzero(digit.max(axis=0) > 0)
    if columns.size == 0:  # A blank digit keeps a narrow slot.
        return digit[:, DIGIT_SIZE // 2 - 2 : DIGIT_SIZE // 2 + 2]
    return digit[:, columns[0] : columns[-1] + 1]


def _place_freely(
    canvas: np.ndarray, digits: np.ndarray, rng: np.random.Generator, *, max_gap: int, max_overlap: int, vertical_jitter: int
) -> None:
    crops = [_ink_columns(digit) for digit in digits]
    widths = np.array([crop.shape[1] for crop in crops])
    gaps = rng.integers(-max_overlap, max_gap + 1, size=len(crops) - 1)
    # Narrow the gaps, never below full overlap, until the digits fit on the canvas.
    while widths.sum() + gaps.sum() > canvas.shape[1] and gaps.max(initial=-max_overlap) > -max_overlap:
        gaps = np.maximum(gaps - 1, -max_overlap)
    total = widths.sum() + gaps.sum()
    left = int(rng.integers(0, canvas.shape[1] - total + 1))
    shifts = rng.integers(-vertical_jitter, vertical_jitter + 1, size=len(crops))
    for crop, shift, gap in zip(crops, shifts, [*gaps, 0]):
        shifted = np.roll(crop, shift, axis=0)
        if shift > 0:
            shifted[:shift] = 0
        elif shift < 0:
            shifted[shift:] = 0
        region = canvas[:, left : left + crop.shape[1]]
        np.maximum(region, shifted, out=region)
        left += crop.shape[1] + int(gap)


def label_sequences(labels: np.ndarray) -> list[str]:
    """Turn rows of slot labels (``BLANK`` for none) into digit strings.

    Example:
        >>> label_sequences(np.array([[3, BLANK, 1, BLANK, BLANK]]))
        ['31']
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must have one row per image, shape (N, slots); got {labels.shape}")
    return ["".join(str(int(label)) for label in row if label != BLANK) for row in labels]


def edit_distance(predicted: str, true: str) -> int:
    """The Levenshtein distance: insertions, deletions and substitutions to turn one into the other.

    Example:
        >>> edit_distance("4071", "407"), edit_distance("12345", "12845")
        (1, 1)
    """
    previous = list(range(len(true) + 1))
    for row, predicted_digit in enumerate(predicted, start=1):
        current = [row]
        for column, true_digit in enumerate(true, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (predicted_digit != true_digit)))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class SequenceScores:
    """Per-digit and whole-sequence accuracy of predicted digit strings."""

    per_digit_accuracy: float
    sequence_accuracy: float
    wrong: np.ndarray

    @property
    def per_digit_error(self) -> float:
        return 1.0 - self.per_digit_accuracy

    @property
    def sequence_error(self) -> float:
        return 1.0 - self.sequence_accuracy


def score_sequences(predicted: Sequence[str], true: Sequence[str]) -> SequenceScores:
    """Score predicted digit strings against the true ones.

    Per-digit accuracy is one minus the edit distance over the number of true digits:
    a wrong digit, a missed one and an extra one each count as one error, so it means
    the same for a model that fills five slots and for one that reads a sequence of any
    length. A sequence is right only when every digit is (``wrong`` marks the others).

    Example:
        >>> scores = score_sequences(["123", "45"], ["123", "46"])
        >>> scores.per_digit_accuracy, scores.sequence_accuracy
        (0.8, 0.5)
    """
    if len(predicted) != len(true):
        raise ValueError(f"got {len(predicted)} predictions for {len(true)} true sequences")
    if len(true) == 0:
        raise ValueError("there are no sequences to score")
    digits = sum(len(sequence) for sequence in true)
    if digits == 0:
        raise ValueError("the true sequences hold no digits")
    errors = sum(edit_distance(guess, answer) for guess, answer in zip(predicted, true))
    wrong = np.array([guess != answer for guess, answer in zip(predicted, true)])
    return SequenceScores(per_digit_accuracy=1.0 - errors / digits, sequence_accuracy=1.0 - float(wrong.mean()), wrong=wrong)


def slot_probabilities_to_sequences(probabilities: np.ndarray) -> list[str]:
    """Read per-slot class probabilities, shape (N, slots, 11), as digit strings.

    The most probable class of each slot wins; ``BLANK`` slots are skipped.

    Example:
        >>> probabilities = np.eye(11)[[[2, 10, 7]]]
        >>> slot_probabilities_to_sequences(probabilities)
        ['27']
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 3 or probabilities.shape[-1] != BLANK + 1:
        raise ValueError(f"probabilities must have shape (N, slots, {BLANK + 1}); got {probabilities.shape}")
    return label_sequences(probabilities.argmax(axis=-1))


def cut_into_slots(images: np.ndarray, *, num_slots: int = 5) -> np.ndarray:
    """Cut images of shape (N, 28, 28 * num_slots) into their 28x28 slots: (N * num_slots, 28, 28).

    Example:
        >>> cut_into_slots(np.zeros((2, 28, 140), np.uint8)).shape
        (10, 28, 28)
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE * num_slots):
        raise ValueError(f"images must have shape (N, 28, {DIGIT_SIZE * num_slots}) for {num_slots} slots; got {images.shape}")
    slots = images.reshape(len(images), DIGIT_SIZE, num_slots, DIGIT_SIZE)
    return slots.transpose(0, 2, 1, 3).reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
