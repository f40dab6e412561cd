"""The run settings: the quick run and the reference run that enforces the time goals."""

from __future__ import annotations

import pytest

from mnist_helpers.settings import full_or_quick, quick_run, time_goals_enforced


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("1", True), ("true", True)])
def test_quick_run_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("BOOK_QUICK", value)
    assert quick_run() is expected
    assert full_or_quick(full="full", quick="quick") == ("quick" if expected else "full")


def test_quick_run_rejects_unknown_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_QUICK", "fast")
    with pytest.raises(ValueError, match="BOOK_QUICK=.*use 1 for the quick run"):
        quick_run()


@pytest.mark.parametrize(
    ("time_goals", "quick", "expected"), [("", "", False), ("1", "", True), ("1", "1", False), ("0", "", False)]
)
def test_time_goals_are_enforced_only_in_full_reference_runs(
    monkeypatch: pytest.MonkeyPatch, time_goals: str, quick: str, expected: bool
) -> None:
    monkeypatch.setenv("BOOK_REFERENCE_RUN", time_goals)
    monkeypatch.setenv("BOOK_QUICK", quick)
    assert time_goals_enforced() is expected


def test_time_goals_setting_rejects_unknown_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "sometimes")
    with pytest.raises(ValueError, match="BOOK_REFERENCE_RUN"):
        time_goals_enforced()
