"""The book's one run setting: a full run (the default) or a quick run.

Every chapter reads the setting in its setup cell and shows both values of whatever it
shrinks, side by side::

    QUICK = settings.quick_run()
    EPOCHS = settings.full_or_quick(full=20, quick=3)
    MAX_TEST_ERROR = settings.full_or_quick(full=0.015, quick=0.03)

Readers get the full run. ``BOOK_QUICK=1`` in the environment selects the quick run,
which only shrinks epochs or data, for a continuous-integration budget; the outputs
committed in the book always come from a full run.
"""

from __future__ import annotations

import os
from typing import TypeVar

QUICK_ENV = "BOOK_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

Value = TypeVar("Value")


def quick_run() -> bool:
    """Return True when ``BOOK_QUICK`` asks for the quick run.

    Example:
        >>> os.environ["BOOK_QUICK"] = "1"; quick_run()
        True
    """
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{QUICK_ENV}={value!r} is not understood; use 1 for the quick run or 0 for the full run")


def full_or_quick(*, full: Value, quick: Value) -> Value:
    """Return ``full`` in a full run and ``quick`` in a quick run.

    Example:
        >>> os.environ["BOOK_QUICK"] = "0"; full_or_quick(full=20, quick=3)
        20
    """
    return quick if quick_run() else full
