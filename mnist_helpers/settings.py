"""The book's one run setting: a full run (the default) or a quick run.

Every chapter reads the setting in its setup cell and shows both values of whatever it
shrinks, side by side::

    QUICK = settings.quick_run()
    EPOCHS = settings.full_or_quick(full=20, quick=3)
    MAX_TEST_ERROR = settings.full_or_quick(full=0.015, quick=0.03)

Readers get the full run. ``BOOK_QUICK=1`` in the environment selects the quick run,
which only shrinks epochs or data, for a continuous-integration budget; the outputs
committed in the book always come from a full run.

The book's *reference run* is the one whose outputs are committed: ``make execute`` sets
``BOOK_REFERENCE_RUN=1``. Only that run rewrites the committed ``results/*.json``
records (a reader's run writes its records under ``artifacts/results/``) and asserts the
training-time thresholds, which hold on the machine the reference run is made on; on a
reader's laptop, on Colab or in CI the chapters print their times without failing on
them. Accuracy thresholds are asserted everywhere.
"""

from __future__ import annotations

import os
from typing import Mapping, TypeVar

QUICK_ENV = "BOOK_QUICK"
REFERENCE_RUN_ENV = "BOOK_REFERENCE_RUN"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

Value = TypeVar("Value")


def _flag(name: str, meaning: str, environ: Mapping[str, str] | None) -> bool:
    value = (os.environ if environ is None else environ).get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not understood; use 1 for {meaning} or 0 (or leave it unset) for the default")


def quick_run(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when ``BOOK_QUICK`` asks for the quick run (``environ``: ``os.environ``).

    Example:
        >>> quick_run({"BOOK_QUICK": "1"}), quick_run({})
        (True, False)
    """
    return _flag(QUICK_ENV, "the quick run", environ)


def reference_run(environ: Mapping[str, str] | None = None) -> bool:
    """Return True in the book's reference run (``BOOK_REFERENCE_RUN=1``, set by ``make execute``).

    Example:
        >>> reference_run({"BOOK_REFERENCE_RUN": "1"})
        True
    """
    return _flag(REFERENCE_RUN_ENV, "the book's reference run", environ)


def time_goals_enforced(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when training-time thresholds must be asserted: a full reference run.

    Times depend on the machine (and on what else it is doing), so only the reference run
    that produces the committed outputs (``make execute``) fails on a missed time threshold.

    Example:
        >>> time_goals_enforced({"BOOK_REFERENCE_RUN": "1", "BOOK_QUICK": "0"})
        True
    """
    return reference_run(environ) and not quick_run(environ)


def full_or_quick(*, full: Value, quick: Value, environ: Mapping[str, str] | None = None) -> Value:
    """Return ``full`` in a full run and ``quick`` in a quick run.

    Example:
        >>> full_or_quick(full=20, quick=3, environ={"BOOK_QUICK": "0"})
        20
    """
    return quick if quick_run(environ) else full
