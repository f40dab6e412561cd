"""A Sphinx extension: each page includes every script once.

sphinx-thebe adds its configuration script (``const THEBE_JS_URL = ...``) each time its
``env-before-read-docs`` handler runs, and Jupyter Book runs it twice, so every notebook
page declared the same constant twice and the browser logged "Identifier 'THEBE_JS_URL'
has already been declared". This drops the repeats before the page is written.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # The repeats differ in priority and in an empty filename ('' or None) only.
    return (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
