"""Showing things in a chapter: the package's own source code, and tables that read well.

Both work the same in Jupyter, on Colab and in the rendered book: ``show_source`` returns
an IPython ``Code`` object (highlighted HTML, plain text elsewhere) and ``table`` a pandas
``Styler``.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any, Mapping

import pandas as pd

_TABLE_STYLES = [
    {"selector": "th, td", "props": [("padding", "0.25em 0.75em")]},
    {"selector": "th", "props": [("text-align", "left")]},
]


def show_source(obj: Any):
    """Return the source code of a function or class of the package, for display.

    A chapter that explains an algorithm shows the code that runs it, so the page and
    the package can never disagree.

    Example:
        >>> from mnist_helpers import training
        >>> print(show_source(training.steps_per_epoch).data.splitlines()[0])
        def steps_per_epoch(examples: int, *, batch_size: int) -> int:
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise ValueError(f"no source code can be shown for {obj!r}: {error}") from None
    # A method's source is indented by its class; a top-level function's is not.
    return Code(textwrap.dedent(source), language="python")


def table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, str] | None = None,
    percent: tuple[str, ...] = (),
    index: bool = False,
) -> "pd.io.formats.style.Styler":
    """Style a DataFrame for the page: padded cells, numbers right-aligned, text left.

    ``percent`` names columns holding fractions to show as percentages (0.0138 as
    1.38%); ``formats`` maps other columns to format strings.

    Example:
        >>> frame = pd.DataFrame({"model": ["MLP"], "test error": [0.0138]})
        >>> "1.38%" in table(frame, percent=("test error",)).to_html()
        True
    """
    unknown = [column for column in (*(formats or {}), *percent) if column not in frame.columns]
    if unknown:
        raise ValueError(f"no column {unknown[0]!r} to format; the table has {list(frame.columns)}")
    column_formats = {column: "{:.2%}" for column in percent}
    column_formats.update(formats or {})
    numeric = [column for column in frame.columns if pd.api.types.is_numeric_dtype(frame[column])]
    styler = frame.style.format(column_formats, thousands=",", na_rep="")
    styler = styler.set_table_styles(_TABLE_STYLES)
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    text = [column for column in frame.columns if column not in numeric]
    if text:
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
    return styler if index else styler.hide(axis="index")
