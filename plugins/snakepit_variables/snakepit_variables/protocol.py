"""What ``ctx.variables`` is, as a Protocol other plugins type against without importing the implementation.

A plugin that uses session variables writes ``variables: Variables =
ctx.variables`` (importing :class:`Variables` under ``TYPE_CHECKING``), so
its code is checked against this face while snakepit-variables stays free to
change :class:`~snakepit_variables.session_variables.SessionVariables`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from snakepit_variables.model import HistoryEntry, Variable
    from snakepit_variables.watch import Watch

VariableList = list["Variable"]  # (``list`` is a method name in the class body)
EntryList = list["HistoryEntry"]


class Variables(Protocol):
    """Typed, constrained, versioned variables of one session."""

    session_id: str

    def get(self, name: str, default: Any = ...) -> Any:
        """The current value; ``default`` if the variable does not exist (NotFound when omitted)."""
        ...

    def get_variable(self, name: str, *, fresh: bool = False) -> Variable:
        """The whole record (value, version, constraints, metadata, source, times)."""
        ...

    def exists(self, name: str) -> bool: ...

    def list(self, pattern: str | None = None) -> VariableList:
        """Variables whose names contain ``pattern`` (``*`` matches any text)."""
        ...

    def get_many(self, names: Iterable[str]) -> dict[str, Any]:
        """Values by name; names that do not exist are left out."""
        ...

    def get_variables(self, names: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]: ...

    def history(self, name: str, limit: int | None = None) -> EntryList:
        """Past versions, oldest first; ``limit`` keeps the most recent ones."""
        ...

    def register(
        self,
        name: str,
        type: str,
        value: Any,
        *,
        constraints: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> Variable:
        """Create a variable at version 0; the constraints and the value are checked first."""
        ...

    def set(
        self,
        name: str,
        value: Any,
        *,
        expected_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Validate and store a new value; returns the new version (``Conflict`` if not at ``expected_version``)."""
        ...

    def set_many(
        self, mapping: Mapping[str, Any], *, atomic: bool = True, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, int]:
        """Set several variables; new versions by name (``BatchError`` lists every problem)."""
        ...

    def delete(self, name: str) -> None: ...

    def rollback(self, name: str, version: int) -> Variable:
        """Write the value that version ``version`` had, as a new version."""
        ...

    def watch(self, names_or_patterns: str | Iterable[str], *, include_initial: bool = False) -> Watch:
        """Changes of matching variables (names or globs), as an iterator; close it when done."""
        ...
