"""The contract a value type fulfils (registered through ``register_types``).

A value type knows how to check a value against its constraints, how to
carry it on the wire, and how to describe itself. The host only stores
types and lists them; snakepit-variables (and anything else that types
values) uses them. Third-party types implement the same protocol, e.g. a
``money`` or ``date`` type with its own constraints.

Wire form: ``to_wire`` returns a JSON-compatible value and, for large
numeric data, raw bytes (see :mod:`snakepit_host.codec` for the binary
header). ``from_wire`` reverses it. Nothing here may unpickle or evaluate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ValueType(Protocol):
    """A named, constrained value type."""

    name: str
    description: str

    def check_constraints(self, constraints: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a constraints mapping when a variable is registered.

        Return the normalised constraints. Raise
        :class:`~snakepit_host._errors.InvalidArgument` for an unknown key or
        a malformed value, naming the key.
        """
        ...

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Any:
        """Return ``value`` converted to this type (only lossless coercions).

        Raise :class:`~snakepit_host._errors.InvalidArgument` saying which
        rule failed, e.g. ``"1.7 is above max 1.0"``.
        """
        ...

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        """Encode a validated value as (JSON-compatible value, optional raw bytes)."""
        ...

    def from_wire(self, data: Any, binary: bytes | None) -> Any:
        """Decode what :meth:`to_wire` produced (or what Elixir sent)."""
        ...

    def constraint_schema(self) -> dict[str, Any]:
        """JSON schema of the constraints mapping this type accepts."""
        ...

    def describe(self) -> dict[str, Any]:
        """Name, description, Python type and constraint schema, for listings."""
        ...
