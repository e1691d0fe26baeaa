"""Parameter descriptions from docstrings.

Agents choose arguments from the descriptions they are shown, and most
functions already document their parameters; reading the two common styles
(Sphinx ``:param x:`` and Google ``Args:``) saves authors from repeating
themselves in ``@tool(parameter_descriptions=...)``.
"""

from __future__ import annotations

import functools
import inspect
import re

_SPHINX_PATTERN = r"^:param\s+(?:[^:]*\s)?\**(?P<name>\w+)\s*:\s*(?P<text>.*)$"
_GOOGLE_HEADERS = {"args:", "arguments:", "parameters:", "params:", "keyword args:", "keyword arguments:"}
_GOOGLE_ENTRY = re.compile(r"^\**(?P<name>\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<text>.*)$")


def parameter_docs(function: object) -> dict[str, str]:
    """``{parameter: description}`` found in the function's docstring (empty when none)."""
    doc = inspect.getdoc(function)
    if not doc:
        return {}
    lines = doc.splitlines()
    found = {**_google(lines), **_sphinx(lines)}
    return {name: text for name, text in found.items() if text}


@functools.cache
def _sphinx_entry() -> re.Pattern[str]:
    """Compiled on the first ``:param`` line: compiling costs a worker's start-up when no tool uses the style."""
    return re.compile(_SPHINX_PATTERN)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _sphinx(lines: list[str]) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in lines:
        line = raw.strip()
        match = _sphinx_entry().match(line) if line.startswith(":param") else None
        if match:
            current = found.setdefault(match["name"], [])
            current.append(match["text"])
        elif not line or line.startswith(":"):
            current = None
        elif current is not None:
            current.append(line)
    return {name: " ".join(filter(None, parts)) for name, parts in found.items()}


def _google(lines: list[str]) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    header: int | None = None
    entry_indent: int | None = None
    current: list[str] | None = None
    for raw in lines:
        line = raw.strip()
        if line.lower() in _GOOGLE_HEADERS:
            header, entry_indent, current = _indent(raw), None, None
            continue
        if header is None or not line:
            continue
        indent = _indent(raw)
        if indent <= header:
            header = None
            continue
        if entry_indent is None:
            entry_indent = indent
        match = _GOOGLE_ENTRY.match(line) if indent == entry_indent else None
        if match:
            current = found.setdefault(match["name"], [])
            current.append(match["text"])
        elif current is not None and indent > entry_indent:
            current.append(line)
    return {name: " ".join(filter(None, parts)) for name, parts in found.items()}
