"""How far a measured accuracy can move by chance: its standard error.

An accuracy measured on a finite set of images is itself a sample. For an accuracy
``p`` measured on ``n`` independent examples, the standard error is
``sqrt(p * (1 - p) / n)``; the difference of two accuracies measured on separate draws
of ``n`` examples each has the two errors' root sum of squares. The chapters read a gap
smaller than two standard errors of the difference as a tie. (Two models scored on the
*same* images are correlated, so this is a conservative yardstick there.)
"""

from __future__ import annotations

import math


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
