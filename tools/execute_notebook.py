"""Execute a chapter in place from a clean kernel, as a reader runs it top to bottom.

Usage: python tools/execute_notebook.py chapters/02_mlp.ipynb [more notebooks]

The notebook runs with its own directory as the working directory. Outputs are replaced,
per-cell timing metadata is not recorded (it would change on every run), and a cell that
raises stops the run with a non-zero exit, so a failing chapter is never committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    client.execute()
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for argument in sys.argv[1:]:
        execute(Path(argument))
