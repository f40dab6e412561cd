"""A pytest plugin that schedules `make test` on pytest-xdist workers by chapter
(`make test` runs two workers, ``-n 2``).

nbval runs a notebook's cells one after another in one kernel, so all cells of a chapter
must go to the same worker, in order. Chapter 6 loads the model that chapter 4 saves
(``04_digit_reader.keras`` in the test artifacts), so it runs on chapter 4's worker,
after it; without that, which model chapter 6 reads would depend on scheduling. Unit
tests are scheduled by file, like ``--dist loadfile``.

Loaded by `make test` with ``-p pytest_chapter_groups`` (``tools/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

# A chapter that reads another chapter's saved files runs in that chapter's unit of work.
RUNS_AFTER = {"06_multidigit": "04_augmentation"}


def work_unit(nodeid: str) -> str:
    """Return the unit of work a test belongs to: its chapter, or its test file.

    >>> work_unit("chapters/06_multidigit.ipynb::Cell 3")
    'chapters/04_augmentation.ipynb'
    >>> work_unit("chapters/03_cnn.ipynb::Cell 0")
    'chapters/03_cnn.ipynb'
    >>> work_unit("tests/test_data.py::test_load[gz]")
    'tests/test_data.py'
    """
    path = PurePosixPath(nodeid.split("::", 1)[0])
    if path.suffix == ".ipynb" and path.stem in RUNS_AFTER:
        return str(path.with_stem(RUNS_AFTER[path.stem]))
    return str(path)


def run_order(nodeid: str) -> tuple[int, str]:
    """Sort key that puts unit tests first, then chapters by their numbered file names.

    >>> sorted(["chapters/06_multidigit.ipynb::Cell 0", "tests/test_data.py::test_x",
    ...         "chapters/04_augmentation.ipynb::Cell 0"], key=run_order)[0]
    'tests/test_data.py::test_x'
    """
    path = nodeid.split("::", 1)[0]
    return (1, path) if path.endswith(".ipynb") else (0, "")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Chapters run in the order of their numbers, however they were named on the command
    # line, so chapter 4 comes before chapter 6 in their shared unit of work. The sort is
    # stable: cells keep their notebook order and unit tests their collection order.
    items.sort(key=lambda item: run_order(item.nodeid))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ChapterScheduling(LoadScopeScheduling):
        """Hands out whole chapters (and whole test files), largest first."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ChapterScheduling(config, log)
