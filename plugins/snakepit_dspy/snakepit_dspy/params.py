"""Typed reading of a command's parameters, with errors that name the command and the parameter.

Parameters arrive as decoded JSON, so every handler needs the same checks
(present? right type? in range?); doing them here keeps the handlers short
and the messages uniform.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from snakepit_host import InvalidArgument

ROUTING_PARAMETERS = frozenset({"session_id"})
"""Set by Snakepit's execute_in_session for routing; never an input of a command."""

_MISSING: Any = object()


class Params:
    """One call's parameters, read with type checks."""

    def __init__(self, command: str, params: dict[str, Any]) -> None:
        self.command = command
        self.values = {k: v for k, v in params.items() if k not in ROUTING_PARAMETERS}

    def error(self, message: str) -> InvalidArgument:
        return InvalidArgument(f"{self.command}: {message}")

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def reject_unknown(self, known: Iterable[str]) -> None:
        unknown = sorted(set(self.values) - set(known))
        if unknown:
            raise self.error(
                f"unknown parameter(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(sorted(known))}"
            )

    def _get(self, name: str, default: Any) -> Any:
        value = self.values.get(name)
        if value is None:
            if default is _MISSING:
                raise self.error(f"missing required parameter '{name}'")
            return default
        return value

    def text(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is not default and (not isinstance(value, str) or not value.strip()):
            raise self.error(f"'{name}' must be a non-empty string, got {_show(value)}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self.error(f"'{name}' must be true or false, got {_show(value)}")
        return value

    def integer(
        self, name: str, default: Any = _MISSING, *, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        value = self._get(name, default)
        if value is default:
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"'{name}' must be an integer, got {_show(value)}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(f"'{name}' must be between {minimum} and {maximum}, got {value}")
        return value

    def mapping(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is not default and not isinstance(value, dict):
            raise self.error(f"'{name}' must be an object, got {_show(value)}")
        return value

    def sequence(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is not default and not isinstance(value, list):
            raise self.error(f"'{name}' must be a list, got {_show(value)}")
        return value


def _show(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
