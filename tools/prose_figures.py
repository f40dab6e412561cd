"""Find the measured figures in a chapter's prose that none of its outputs shows.

A number in the prose must be a number an output shows: a percentage, a time, a count
written with thousands separators, a ratio ("3x", "12 times") or a decimal with three or
more places (a loss). Each one found in a markdown cell must appear in some output of the
same notebook (text, HTML tables, printed f-strings), unless

* it is inside inline code or math (a setting such as `EPOCHS = 40`, an equation), or
* its sentence cites a source (``{cite:p}`key```, a link to the web), or
* it is a setting of the chapter's code: a count, time, ratio or decimal that appears as a
  literal in a code cell, or a percentage whose fraction does (30% and ``0.3``).

Usage: python tools/prose_figures.py chapters/02_mlp.ipynb [more notebooks]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

_FIGURE = re.compile(
    r"(?<![\w.,/])(?:"
    r"(?P<percent>\d+(?:\.\d+)?)\s?%"
    r"|(?P<time>\d+(?:\.\d+)?)\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b"
    r"|(?P<ratio>\d+(?:\.\d+)?)(?:x|×)(?![\w])|(?P<times>\d+(?:\.\d+)?)\s(?:times)\b"
    r"|(?P<count>\d{1,3}(?:,\d{3})+)(?![\d,])"
    r"|(?P<decimal>\d+\.\d{3,})(?![\d])"
    r")"
)
_EXEMPT_SPANS = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$\n]+\$|\]\([^)]*\)", re.DOTALL)
_CITES = re.compile(r"\{cite(?::\w+)?\}|\]\(https?://|<https?://")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*])|\n\s*\n|\n\s*[-*|] ")


@dataclass(frozen=True)
class Figure:
    cell: int
    text: str
    sentence: str


def _plain(text: str) -> str:
    """Drop thousands separators, so that 5,421 and 5421 are the same token."""
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)


def _has_token(token: str, text: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(token)}(?!\d)", text) is not None


def _outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/html", ""), data.get("text/markdown", "")]
    return _plain("\n".join(parts))


def _shown(match: re.Match, outputs: str, code: str) -> bool:
    kind = match.lastgroup
    number = _plain(match.group(kind))
    if kind == "percent":
        if re.search(rf"(?<![\d.]){re.escape(number)}\s?%", outputs):
            return True
        fraction = f"{float(number) / 100:.10f}".rstrip("0").rstrip(".")
        return _has_token(fraction, code)
    return _has_token(number, outputs) or _has_token(number, code)


def prose_figures(path: str | Path) -> tuple[list[Figure], list[Figure]]:
    """Return (every figure checked, the figures that no output shows) for one notebook."""
    notebook = nbformat.read(path, as_version=4)
    outputs = _outputs_text(notebook)
    code = _plain("\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code"))
    checked, missing = [], []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        for sentence in _SENTENCE_END.split(cell.source):
            if _CITES.search(sentence):
                continue
            visible = _EXEMPT_SPANS.sub(" ", sentence)
            for match in _FIGURE.finditer(visible):
                figure = Figure(index, match.group(0), " ".join(sentence.split()))
                checked.append(figure)
                if not _shown(match, outputs, code):
                    missing.append(figure)
    return checked, missing


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    status = 0
    for argument in sys.argv[1:]:
        checked, missing = prose_figures(argument)
        print(f"{argument}: {len(checked)} figures checked, {len(missing)} shown by no output")
        for figure in missing:
            print(f"  cell [{figure.cell}] {figure.text!r}: {figure.sentence[:160]}")
        status |= bool(missing)
    sys.exit(status)
