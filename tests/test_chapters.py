"""The committed chapters: executed, clean, seeded, checked, listed, and lean.

nbval re-runs the chapters and compares their outputs; these tests check what nbval does
not: that what is committed is the output of a full run a reader can trust.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TRAINING_CHAPTERS = [path for path in CHAPTERS if "fit_timed(" in path.read_text() or ".fit(" in path.read_text()]
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def code_cells(path: Path) -> list:
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]


def source_of(path: Path) -> str:
    return "\n".join(cell.source for cell in code_cells(path))


def test_there_are_chapters() -> None:
    assert [path.stem for path in CHAPTERS][:2] == ["01_data", "02_mlp"]
    assert [path.stem for path in TRAINING_CHAPTERS][:1] == ["02_mlp"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_code_cell_was_executed_in_order_without_errors(path: Path) -> None:
    cells = code_cells(path)
    counts = [cell.execution_count for cell in cells]
    assert None not in counts, f"{path.name}: unexecuted cells; run `make execute`"
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not one top-to-bottom run from a clean kernel"
    errors = [output for cell in cells for output in cell.outputs if output.output_type == "error"]
    assert not errors, f"{path.name}: stored error output {errors[0].get('ename')}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_stored_streams_are_clean(path: Path) -> None:
    for cell in code_cells(path):
        for output in cell.outputs:
            if output.output_type != "stream":
                continue
            assert output.name == "stdout", f"{path.name}: stderr stored ({output.text[:120]!r})"
            assert not CONTROL_CHARACTERS.search(output.text), (
                f"{path.name}: control characters in {output.text[:80]!r}; use verbose=2 for fit, 0 for predict"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_no_widget_state_and_modest_size(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert "widgets" not in notebook.metadata
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size} bytes"
    for cell in code_cells(path):
        for output in cell.outputs:
            image = output.get("data", {}).get("image/png")
            if image:
                assert len(base64.b64decode(image)) < 200_000, f"{path.name}: a figure over 200 kB"


@pytest.mark.parametrize("path", TRAINING_CHAPTERS, ids=lambda path: path.stem)
def test_training_chapters_are_seeded_and_assert_their_goal(path: Path) -> None:
    source = source_of(path)
    assert "keras.utils.set_random_seed(" in source, f"{path.name}: seed with keras.utils.set_random_seed"
    assert re.search(r"^assert .*(error|accuracy)", source, re.MULTILINE), f"{path.name}: assert the test error (or accuracy) in a visible cell"
    assert "settings.full_or_quick(" in source, f"{path.name}: state full and quick thresholds via settings"
    assert re.search(rf'record_result\(\s*"{path.stem}"', source), f"{path.name}: record results as {path.stem}"
    assert (ROOT / "results" / f"{path.stem}.json").exists(), f"commit results/{path.stem}.json from the full run"
    assert "verbose=1" not in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_training_logs_are_ignored_by_nbval(path: Path) -> None:
    # A cell that trains and shows anything (logs, timings, metrics) varies from run to
    # run; one that only defines a training function stores no output to compare.
    for cell in code_cells(path):
        if ("fit_timed(" in cell.source or ".fit(" in cell.source) and cell.outputs:
            assert cell.source.startswith("# NBVAL_IGNORE_OUTPUT"), f"{path.name}: mark training cells NBVAL_IGNORE_OUTPUT"


def test_every_chapter_is_in_the_table_of_contents() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert all(f"chapters/{path.stem}" in toc for path in CHAPTERS)


@pytest.mark.parametrize("path", TRAINING_CHAPTERS, ids=lambda path: path.stem)
def test_time_goals_do_not_fail_a_reader_on_a_slower_machine(path: Path) -> None:
    # Training times depend on the machine; only the reference run asserts them.
    for line in source_of(path).splitlines():
        if re.match(r"\s*assert .*seconds\s*<=", line):
            assert "not settings.time_goals_enforced()" in line, f"{path.name}: {line.strip()}"
