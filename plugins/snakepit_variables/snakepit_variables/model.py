"""The plain records the variable system passes around.

They are frozen: a stored :class:`Variable` is never changed in place, a
write replaces it with a new one. Values inside are immutable too where it
matters (arrays are read-only); list and dict values are copied on read by
:class:`~snakepit_variables.session_variables.SessionVariables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PYTHON = "PYTHON"
ELIXIR = "ELIXIR"


def source_of(metadata: Mapping[str, str], default: str) -> str:
    """Who wrote a value, from its ``source`` metadata entry: ``ELIXIR`` only when that says ``elixir``.

    Without an entry, ``default``. The entry is filled in by the way the write
    arrived: Python code in the worker (``ctx.variables``) writes as
    ``python``; the variable RPCs, whose caller is Snakepit's Elixir side,
    default to ``elixir`` (:func:`snakepit_variables.rpcs.caller_metadata`);
    the commands ask who sent the request
    (:func:`snakepit_variables.commands.caller_source`). Any other word
    (``cli``, ``notebook``) is kept in the metadata and counts as Python: a
    variable is never said to come from Elixir unless it did.
    """
    value = metadata.get("source")
    if value is None:
        return default
    return ELIXIR if value.strip().lower() == "elixir" else PYTHON


@dataclass(frozen=True)
class Variable:
    """One version of a session variable."""

    id: str
    name: str
    type: str
    value: Any
    version: int = 0
    constraints: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = PYTHON
    created_at: float = 0.0
    updated_at: float = 0.0

    def __repr__(self) -> str:
        return (
            f"Variable(name={self.name!r}, type={self.type!r}, version={self.version}, "
            f"value={_short(self.value)}, source={self.source})"
        )


@dataclass(frozen=True)
class Write:
    """One value to commit; ``variable_id`` guards against a delete and re-register in between."""

    name: str
    variable_id: str
    value: Any
    expected_version: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = PYTHON


@dataclass(frozen=True)
class HistoryEntry:
    """A past version. ``value_kept`` is false for large values, which history does not retain."""

    version: int
    value: Any
    timestamp: float
    source: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    value_kept: bool = True
    size: int = 0
    """Approximate bytes of the value (what history's byte bounds count)."""


@dataclass(frozen=True)
class ChangeEvent:
    """What a watcher receives.

    ``kind`` is ``initial_value``, ``registered``, ``value_change`` or
    ``deleted`` (then ``variable`` is the last version before deletion).
    """

    kind: str
    variable: Variable
    source: str
    timestamp: float
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.variable.name


def _short(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"<array {value.dtype} {list(shape)}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
