"""Value types for variables, registered through ``register_types`` like any third party's.

Each type converts only where nothing is lost (PROTOCOL.md §5.1): an int
becomes a float when the float is exact, a whole float becomes an int,
``"true"`` becomes ``True``; anything else is refused with the rule that
failed. The array types (``embedding``, ``tensor``) live in
:mod:`snakepit_variables.arrays`, which imports numpy only when a value is
touched.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from snakepit_host import InvalidArgument
from snakepit_variables import constraints as c
from snakepit_variables import patterns

MAX_JSON_DEPTH = 100
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NON_FINITE_TEXT = {"nan": math.nan, "infinity": math.inf, "inf": math.inf, "-infinity": -math.inf, "-inf": -math.inf}


class BaseType:
    """Shared behaviour: constraint checking by key table, JSON wire form, self-description."""

    name: str
    description: str
    python_type: str
    keys: ClassVar[tuple[c.Key, ...]] = ()
    wire_form: ClassVar[str] = "JSON"

    def __init__(self) -> None:
        self._keys = {key.name: key for key in self.keys}

    def check_constraints(self, constraints: Mapping[str, Any]) -> dict[str, Any]:
        return c.check_keys(self.name, self._keys, constraints)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        return value, None

    def to_json(self, value: Any) -> Any:
        """The JSON form whatever the size (for peers that take no binary, like Elixir's store)."""
        return self.to_wire(value)[0]

    def from_wire(self, data: Any, binary: bytes | None) -> Any:
        if binary is not None:
            raise InvalidArgument(f"type {self.name} has no binary form; send the value as JSON")
        return data

    def constraint_schema(self) -> dict[str, Any]:
        return c.schema(self._keys)

    def describe(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "python_type": self.python_type,
            "wire": self.wire_form,
            "constraints": self.constraint_schema(),
        }

    def _refuse(self, value: Any, expected: str) -> InvalidArgument:
        return InvalidArgument(f"expected {expected}, got {type(value).__name__} {_shown(value)}")


class FloatType(BaseType):
    name = "float"
    description = (
        "A float; ints convert when exact; NaN and the infinities are allowed (as Snakepit's strings on the wire)"
    )
    python_type = "float"
    keys = c.BOUNDS

    def check_constraints(self, constraints: Mapping[str, Any]) -> dict[str, Any]:
        """Bounds become floats, so messages read ``1.7 is above max 1.0``."""
        checked = super().check_constraints(constraints)
        for key, value in checked.items():
            checked[key] = [float(v) for v in value] if key == "range" else float(value)
        return checked

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> float:
        if isinstance(value, bool):
            raise self._refuse(value, "a float")
        if isinstance(value, numbers.Integral):
            number = float(value)
            if int(number) != int(value):
                raise InvalidArgument(f"integer {value} cannot be represented exactly as a float")
        elif isinstance(value, numbers.Real):
            number = float(value)
        elif isinstance(value, str):
            number = _parse_float(value)
        else:
            raise self._refuse(value, "a float")
        c.check_bounds(number, constraints)
        return number

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        if math.isfinite(value):
            return value, None
        return ("NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"), None


class IntegerType(BaseType):
    name = "integer"
    description = "An integer; whole floats and integer text convert"
    python_type = "int"
    keys = c.BOUNDS

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> int:
        if isinstance(value, bool):
            raise self._refuse(value, "an integer")
        if isinstance(value, numbers.Integral):
            number = int(value)
        elif isinstance(value, numbers.Real):
            number = _whole(float(value))
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                number = _whole(_parse_float(value))
        else:
            raise self._refuse(value, "an integer")
        c.check_bounds(number, constraints)
        return number


class StringType(BaseType):
    name = "string"
    description = "Text"
    python_type = "str"
    keys = (*c.LENGTHS, c.PATTERN, c.ENUM)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise self._refuse(value, "a string")
        c.check_length(len(value), constraints, "characters")
        pattern = constraints.get("pattern")
        if pattern is not None:
            try:
                matched = patterns.contains_match(pattern, value)
            except patterns.UnsupportedPattern as exc:  # a pattern registered elsewhere (Elixir's side)
                raise InvalidArgument(f"pattern {pattern!r:.200} {exc}") from None
            if not matched:
                raise InvalidArgument(f"{_shown(value)} does not match pattern {pattern!r}")
        allowed = constraints.get("enum")
        if allowed is not None and value not in allowed:
            raise InvalidArgument(f"{_shown(value)} is not one of enum {allowed}")
        return value


class BooleanType(BaseType):
    name = "boolean"
    description = 'True or false; "true"/"false" (any case) and 1/0 convert'
    python_type = "bool"

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, numbers.Integral) and int(value) in (0, 1):
            return bool(value)
        raise self._refuse(value, "a boolean")


class ChoiceType(BaseType):
    name = "choice"
    description = "One string out of the constraint 'choices' (an empty list allows any)"
    python_type = "str"
    keys = (c.CHOICES,)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise self._refuse(value, "a string choice")
        choices = constraints.get("choices")
        if choices and value not in choices:
            raise InvalidArgument(f"{_shown(value)} is not one of choices {choices}")
        return value


class ModuleType(BaseType):
    name = "module"
    description = "A module or class name (never imported), optionally limited by 'allowed_modules'"
    python_type = "str"
    keys = (c.ALLOWED_MODULES,)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise self._refuse(value, "a module name")
        if not _MODULE_NAME.match(value):
            raise InvalidArgument(f"{_shown(value)} is not a dotted module or class name")
        allowed = constraints.get("allowed_modules")
        if allowed and value not in allowed:
            raise InvalidArgument(f"{_shown(value)} is not one of allowed_modules {allowed}")
        return value


class ListType(BaseType):
    name = "list"
    description = "A JSON list"
    python_type = "list"
    keys = c.LENGTHS

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise self._refuse(value, "a list")
        c.check_length(len(value), constraints, "items")
        copied: list[Any] = json_copy(value)
        return copied


class DictType(BaseType):
    name = "dict"
    description = "A JSON object (string keys); also registered as 'map'"
    python_type = "dict"
    keys = c.LENGTHS

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self._refuse(value, "an object")
        c.check_length(len(value), constraints, "entries")
        copied: dict[str, Any] = json_copy(value)
        return copied


class JsonType(BaseType):
    name = "json"
    description = "Any JSON value, null included"
    python_type = "Any"

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Any:
        return json_copy(value)


SCALAR_TYPES: tuple[type[BaseType], ...] = (
    FloatType,
    IntegerType,
    StringType,
    BooleanType,
    ChoiceType,
    ModuleType,
    ListType,
    DictType,
    JsonType,
)


def json_copy(value: Any, path: str = "value", depth: int = 0) -> Any:
    """A fresh copy made only of JSON types; anything else (or a lossy conversion) is refused by path."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidArgument(f"{path} is nested more than {MAX_JSON_DEPTH} levels deep")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(f"{path} is {value}, which JSON cannot carry")
        return value
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(f"{path} has key {key!r}; JSON object keys must be strings")
            copied[key] = json_copy(item, f"{path}[{key!r}]", depth + 1)
        return copied
    if isinstance(value, (list, tuple)):
        return [json_copy(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise InvalidArgument(f"{path} is a {type(value).__name__}, which is not a JSON type")


def _parse_float(text: str) -> float:
    cleaned = text.strip()
    special = _NON_FINITE_TEXT.get(cleaned.lower())
    if special is not None:
        return special
    try:
        return float(cleaned)
    except ValueError:
        raise InvalidArgument(f"{_shown(text)} is not a number") from None


def _whole(number: float) -> int:
    if not math.isfinite(number) or not number.is_integer():
        raise InvalidArgument(f"{number!r} is not a whole number")
    return int(number)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
