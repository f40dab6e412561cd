"""A pytest plugin that prints how long nbval took for each chapter, at the end of the run.

Loaded by `make test` with ``-p pytest_chapter_times`` (``tools/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[Path(path).stem] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("nbval time per chapter")
    for chapter, seconds in sorted(_seconds.items()):
        terminalreporter.write_line(f"{chapter:<20} {seconds:7.1f} s")
    # With several workers the chapters overlap, so this sum exceeds the wall-clock time.
    terminalreporter.write_line(f"{'sum of chapters':<20} {sum(_seconds.values()):7.1f} s")
