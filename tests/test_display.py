"""Showing the package's source and tables on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from mnist_helpers import augment, training
from mnist_helpers.display import show_source, table


def lines_of_file(module) -> list[str]:
    return Path(module.__file__).read_text().splitlines()


def test_show_source_shows_a_top_level_function_as_it_is_in_the_file() -> None:
    code = show_source(training.steps_per_epoch)
    assert code.language == "python"
    shown = code.data.splitlines()
    assert shown[0].startswith("def steps_per_epoch(")
    file_lines = lines_of_file(training)
    start = file_lines.index(shown[0])
    # Line for line what the file holds: the body keeps its four-space indent.
    assert shown == file_lines[start : start + len(shown)]
    assert any(line.startswith("    return ") for line in shown)
    # The whole function and nothing after it.
    after = file_lines[start + len(shown) :]
    assert not after or not after[0].startswith(" ")


def test_show_source_shows_a_method_without_the_indent_of_its_class() -> None:
    shown = show_source(augment.ElasticDistortion.call).data.splitlines()
    assert shown[0].startswith("def call(")
    file_lines = lines_of_file(augment)
    start = file_lines.index("    " + shown[0])
    in_file = file_lines[start : start + len(shown)]
    # Every line loses the class's four spaces and keeps the rest of its indent.
    assert shown == [line[4:] for line in in_file]
    assert all(line.startswith("    ") or not line for line in shown[1:])


def test_show_source_refuses_what_has_no_source() -> None:
    with pytest.raises(ValueError, match="no source code can be shown for <built-in function len>"):
        show_source(len)


def cell_styles(html: str) -> dict[tuple[int, int], dict[str, str]]:
    """The CSS properties of each body cell, by (row, column), read from the Styler's HTML."""
    styles: dict[tuple[int, int], dict[str, str]] = {}
    for selectors, properties in re.findall(r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0]):
        declared = dict(
            (name.strip(), value.strip())
            for name, value in (item.split(":") for item in properties.split(";") if item.strip())
        )
        for row, column in re.findall(r"_row(\d+)_col(\d+)", selectors):
            styles.setdefault((int(row), int(column)), {}).update(declared)
    return styles


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"model": ["MLP", "CNN"], "test error": [0.0138, 0.0055], "params": [623290, 1200]})


def test_table_shows_percentages_and_thousands(frame: pd.DataFrame) -> None:
    html = table(frame, percent=("test error",)).to_html()
    assert ">1.38%</td>" in html and ">0.55%</td>" in html
    assert ">623,290</td>" in html and ">1,200</td>" in html
    assert "0.0138" not in html
    # The index is hidden unless asked for.
    assert "row_heading" not in html
    assert "row_heading" in table(frame, index=True).to_html()


def test_table_takes_other_formats(frame: pd.DataFrame) -> None:
    html = table(frame, formats={"test error": "{:.4f}", "params": "{:.1e}"}).to_html()
    assert ">0.0138</td>" in html and ">0.0055</td>" in html
    assert ">6.2e+05</td>" in html and ">1.2e+03</td>" in html


def test_table_right_aligns_numbers_and_left_aligns_text(frame: pd.DataFrame) -> None:
    styles = cell_styles(table(frame, percent=("test error",)).to_html())
    for row in range(2):
        assert styles[(row, 0)]["text-align"] == "left"
        assert styles[(row, 1)]["text-align"] == "right"
        assert styles[(row, 2)]["text-align"] == "right"


@pytest.mark.parametrize("arguments", [{"percent": ("error",)}, {"formats": {"seconds": "{:.1f}"}}])
def test_table_rejects_an_unknown_column(frame: pd.DataFrame, arguments: dict) -> None:
    with pytest.raises(ValueError, match=r"no column '(error|seconds)' to format; the table has \['model', 'test error', 'params'\]"):
        table(frame, **arguments)
