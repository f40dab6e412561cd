"""How far a measured accuracy can move by chance: its standard error.

An accuracy measured on a finite set of images is itself a sample. For an accuracy
``p`` measured on ``n`` independent examples, the standard error is
``sqrt(p * (1 - p) / n)``; the difference of two accuracies measured on separate draws
of ``n`` examples each has the two errors' root sum of squares. The chapters read a gap
smaller than ``TIE_STANDARD_ERRORS`` standard errors of the difference as a tie
(:func:`within_noise`). Two models scored on the *same* images are correlated, so this
is a conservative yardstick there.
"""

from __future__ import annotations

import math

# A gap between two accuracies smaller than this many standard errors of the difference
# is read as a tie (about a 5% chance of a larger gap between two equal models).
TIE_STANDARD_ERRORS = 2.0


def standard_error(accuracy: float, *, examples: int) -> float:
    """Return the standard error of an accuracy measured on ``examples`` examples.

    Example:
        >>> round(standard_error(0.99, examples=10_000), 5)
        0.00099
    """
    _check(accuracy, examples)
    return math.sqrt(accuracy * (1 - accuracy) / examples)


def standard_error_of_difference(accuracy: float, other: float, *, examples: int) -> float:
    """Return the standard error of ``accuracy - other``, each measured on ``examples``.

    Example:
        >>> round(standard_error_of_difference(0.99, 0.98, examples=5_000), 5)
        0.00243
    """
    return math.hypot(
        standard_error(accuracy, examples=examples), standard_error(other, examples=examples)
    )


def standard_errors_apart(accuracy: float, other: float, *, examples: int) -> float:
    """Return ``accuracy - other`` in standard errors of the difference (signed).

    Example:
        >>> round(standard_errors_apart(0.99, 0.98, examples=5_000), 2)
        4.12
    """
    noise = standard_error_of_difference(accuracy, other, examples=examples)
    gap = accuracy - other
    if noise == 0:
        # Both accuracies are exactly 0 or 1: any gap is infinitely many errors.
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)
    return gap / noise


def within_noise(accuracy: float, other: float, *, examples: int) -> bool:
    """Return whether two accuracies tie by the chapters' rule.

    They tie when their gap is smaller than ``TIE_STANDARD_ERRORS`` standard errors of
    the difference (:func:`standard_errors_apart`), each accuracy measured on
    ``examples`` examples.

    Example:
        >>> within_noise(0.990, 0.986, examples=5_000)
        True
        >>> within_noise(0.990, 0.980, examples=5_000)
        False
    """
    distance = standard_errors_apart(accuracy, other, examples=examples)
    return abs(distance) < TIE_STANDARD_ERRORS


def _check(accuracy: float, examples: int) -> None:
    if not 0 <= accuracy <= 1:
        raise ValueError(
            f"accuracy must be a fraction between 0 and 1; got {accuracy!r} "
            "(pass 0.99, not 99, for 99%)"
        )
    if int(examples) != examples or examples < 1:
        raise ValueError(
            f"examples must be a whole number of at least 1 (how many images the accuracy "
            f"was measured on); got {examples!r}"
        )
