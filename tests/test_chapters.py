"""The committed chapters: executed, clean, seeded, checked, listed, and lean.

nbval re-runs the chapters and compares their outputs; these tests check what nbval does
not: that what is committed is the output of a full run a reader can trust.
"""

from __future__ import annotations

import base64
import importlib
import re
from pathlib import Path

import sys

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from prose_figures import prose_figures  # noqa: E402

from mnist_helpers import display

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
def _trains(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    return any(".fit(" in cell.source for cell in notebook.cells if cell.cell_type == "code")


TRAINING_CHAPTERS = [path for path in CHAPTERS if _trains(path)]
# Chapters that introduce an idea with an equation (chapter 1 describes data, chapter 8
# compares records).
EQUATION_CHAPTERS = [path for path in CHAPTERS if path.stem[:2] in {"02", "03", "04", "05", "06", "07"}]
MAX_CODE_LINE = 100
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
                f"{path.name}: control characters in {output.text[:80]!r}; "
                "train with verbose=0 and callbacks=[training.EpochLog()], predict with verbose=0"
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
    assert re.search(rf'record_(result|model)\(\s*"{path.stem}"', source), f"{path.name}: record results as {path.stem}"
    assert (ROOT / "results" / f"{path.stem}.json").exists(), f"commit results/{path.stem}.json from the full run"
    assert "verbose=1" not in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_training_logs_are_ignored_by_nbval_and_collapsed(path: Path) -> None:
    # A cell that trains and shows anything (logs, timings, metrics) varies from run to
    # run; one that only defines a training function stores no output to compare.
    for cell in code_cells(path):
        if ".fit(" in cell.source and cell.outputs:
            tags = cell.metadata.get("tags", [])
            assert "nbval-ignore-output" in tags, f"{path.name}: tag training cells nbval-ignore-output"
            if any("epoch " in output.get("text", "") for output in cell.outputs):
                assert "hide-output" in tags, f"{path.name}: tag cells that print a training log hide-output"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_harness_stays_out_of_the_readers_way(path: Path) -> None:
    for cell in code_cells(path):
        first = cell.source.lstrip().splitlines()[0]
        assert not first.startswith("# NBVAL"), f"{path.name}: use the nbval-* cell tags, not {first!r}"
    source = source_of(path)
    assert "fit_timed(" not in source, f"{path.name}: call model.fit with training.EpochLog() instead"
    long_lines = [line for line in source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long_lines, f"{path.name}: {len(long_lines)} code lines over {MAX_CODE_LINE}: {long_lines[0][:60]}..."


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_colab_install_cell_is_hidden_and_fails_loudly(path: Path) -> None:
    install = code_cells(path)[0]
    assert "%pip install" in install.source, f"{path.name}: the first code cell installs the package on Colab"
    assert "remove-cell" in install.metadata.get("tags", []), f"{path.name}: tag the install cell remove-cell"
    assert "raise " in install.source, f"{path.name}: the install cell stops with a clear message when pip fails"


@pytest.mark.parametrize("path", TRAINING_CHAPTERS, ids=lambda path: path.stem)
def test_keras_is_in_plain_sight(path: Path) -> None:
    source = source_of(path)
    assert re.search(r"^import keras$", source, re.MULTILINE), f"{path.name}: import keras"
    assert re.search(r"\.fit\(", source) and "validation_data=" in source, f"{path.name}: call model.fit with validation data"
    assert re.search(r"\.predict\(", source), f"{path.name}: call model.predict in the chapter"


def markdown_cells(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_chapter_teaches_what_it_will_cover_and_ends_with_exercises(path: Path) -> None:
    cells = markdown_cells(path)
    assert "What you will learn" in cells[0], f"{path.name}: open by saying what the reader will learn"
    text = "\n".join(cells)
    assert re.search(r"^## Conclusion", text, re.MULTILINE), f"{path.name}: a Conclusion section"
    exercises = re.search(r"^## Exercises\s*\n(.*?)(?=^#{1,2} |\Z)", text, re.MULTILINE | re.DOTALL)
    assert exercises, f"{path.name}: end with an Exercises section"
    items = re.findall(r"^\d+\.\s", exercises.group(1), re.MULTILINE)
    assert 4 <= len(items) <= 8, f"{path.name}: {len(items)} numbered exercises; write 4 to 8"


@pytest.mark.parametrize("path", EQUATION_CHAPTERS, ids=lambda path: path.stem)
def test_ideas_are_introduced_with_an_equation(path: Path) -> None:
    text = "\n".join(markdown_cells(path))
    assert "$$" in text or "```{math}" in text, f"{path.name}: introduce the chapter's idea with a displayed equation"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_in_the_prose_is_shown_by_an_output(path: Path) -> None:
    # A measured number typed into the prose goes stale at the next run; print it from
    # code instead. Settings in inline code, math and cited published figures are exempt.
    checked, missing = prose_figures(path)
    listing = "\n".join(f"  cell [{figure.cell}] {figure.text!r}: {figure.sentence[:120]}" for figure in missing)
    assert not missing, f"{path.name}: {len(missing)} of {len(checked)} prose figures appear in no output:\n{listing}"


def test_every_chapter_is_in_the_table_of_contents() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert all(f"chapters/{path.stem}" in toc for path in CHAPTERS)


@pytest.mark.parametrize("path", TRAINING_CHAPTERS, ids=lambda path: path.stem)
def test_time_goals_do_not_fail_a_reader_on_a_slower_machine(path: Path) -> None:
    # Training times depend on the machine; only the reference run asserts them.
    for line in source_of(path).splitlines():
        if re.match(r"\s*assert .*seconds\s*<=", line):
            assert "not settings.time_goals_enforced()" in line, f"{path.name}: {line.strip()}"


def test_references_spell_names_in_unicode() -> None:
    # pybtex builds the references page's labels from the authors' names and mangles
    # LaTeX accents ({\c{s}} in Cireşan gave the label "CirecsanMS12"): write ş, not {\c{s}}.
    bibliography = (ROOT / "references.bib").read_text()
    accents = re.findall(r"\{?\\[`'\"^~=.cvuHk]\{?[A-Za-z]\}?\}?", bibliography)
    assert not accents, f"references.bib: write these letters in Unicode: {accents[:5]}"


SHOW_SOURCE = re.compile(r"^display\.show_source\((\w+)\.(\w+)\)$")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_shown_package_code_is_the_packages_current_code(path: Path) -> None:
    # A chapter that shows a package function stores its code as an output; after a
    # change to the package that output is stale until the chapter is re-executed.
    # This catches it in seconds rather than at the end of an nbval run.
    for cell in code_cells(path):
        match = SHOW_SOURCE.match(cell.source.strip())
        if not match:
            continue
        module = importlib.import_module(f"mnist_helpers.{match[1]}")
        current = display.show_source(getattr(module, match[2])).data
        stored = "".join(
            output.get("data", {}).get("text/plain", "") for output in cell.outputs
        )
        assert stored.strip() == current.strip(), (
            f"{path.name}: the output of `{match[0]}` shows an older version of the "
            "package's code; re-execute the chapter (or refresh that cell's output)"
        )
