"""Constraint keys: their JSON schema, how a registered value is checked, and the shared rules.

Each value type accepts a subset of these keys (PROTOCOL.md §5.1 plus the
seed's ``dtype``, ``min_value``, ``max_value``, ``norm`` and ``range``).
Keys are checked once when a variable is registered, so a malformed
constraint is refused up front instead of failing every later write.
Messages name the key, and the value rules name the rule that failed
(``1.7 is above max 1.0``), because that is what a caller can act on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from snakepit_host import InvalidArgument, codec
from snakepit_variables import patterns

MAX_PATTERN_LENGTH = 1000
NORMS = ("l1", "l2", "unit")
FLOAT_DTYPES = ("float16", "float32", "float64")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _number(value: Any) -> Any:
    if not _is_number(value):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def _length(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"must be a non-negative integer, got {value!r}")
    return value


def _positive(value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


def _pattern(value: Any) -> Any:
    if not isinstance(value, str) or len(value) > MAX_PATTERN_LENGTH:
        raise ValueError(f"must be a regular expression of at most {MAX_PATTERN_LENGTH} characters")
    patterns.compiled(value)  # UnsupportedPattern (a ValueError) names what RE2 cannot run
    return value


def _strings(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"must be a list of strings, got {value!r}")
    return list(value)


def _range(value: Any) -> Any:
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise ValueError(f"must be [low, high] with two numbers, got {value!r}")
    if value[0] > value[1]:
        raise ValueError(f"low {value[0]} is above high {value[1]}")
    return list(value)


def _shape(value: Any) -> Any:
    dims_ok = isinstance(value, list) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= -1) for d in value
    )
    if not dims_ok:
        raise ValueError(f"must be a list of dimension sizes (null or -1 for any size), got {value!r}")
    return [None if d is None or d == -1 else d for d in value]


def _choice(options: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return value

    return check


class Key(NamedTuple):
    """A constraint key: what it means, its JSON schema, and its checker (raises ValueError)."""

    name: str
    description: str
    schema: Mapping[str, Any]
    check: Callable[[Any], Any]


_NUMBER = {"type": "number"}
_LENGTH = {"type": "integer", "minimum": 0}

MIN = Key("min", "inclusive lower bound", _NUMBER, _number)
MAX = Key("max", "inclusive upper bound", _NUMBER, _number)
MIN_VALUE = Key("min_value", "inclusive lower bound (of every element, for arrays)", _NUMBER, _number)
MAX_VALUE = Key("max_value", "inclusive upper bound (of every element, for arrays)", _NUMBER, _number)
RANGE = Key(
    "range",
    "[low, high], inclusive (of every element, for arrays)",
    {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
    _range,
)
MIN_LENGTH = Key("min_length", "minimum length", _LENGTH, _length)
MAX_LENGTH = Key("max_length", "maximum length", _LENGTH, _length)
PATTERN = Key(
    "pattern",
    "regular expression (RE2 syntax: no backreferences or lookarounds) the value must contain a match of",
    {"type": "string"},
    _pattern,
)
ENUM = Key("enum", "the allowed values", {"type": "array", "items": {"type": "string"}}, _strings)
CHOICES = Key("choices", "the allowed choices (empty: any)", {"type": "array", "items": {"type": "string"}}, _strings)
ALLOWED_MODULES = Key(
    "allowed_modules", "the allowed module names (empty: any)", {"type": "array", "items": {"type": "string"}}, _strings
)
DIMENSIONS = Key("dimensions", "exact number of elements", {"type": "integer", "minimum": 1}, _positive)
SHAPE = Key(
    "shape",
    "exact shape; null or -1 accepts any size in that dimension",
    {"type": "array", "items": {"type": ["integer", "null"], "minimum": -1}},
    _shape,
)
FLOAT_DTYPE = Key("dtype", "element type", {"enum": list(FLOAT_DTYPES)}, _choice(FLOAT_DTYPES))
ANY_DTYPE = Key("dtype", "element type", {"enum": list(codec.DTYPE_SIZES)}, _choice(tuple(codec.DTYPE_SIZES)))
NORM = Key(
    "norm",
    "the vector must be normalised: l1 (sum of |x| is 1), l2 or unit (length 1)",
    {"enum": list(NORMS)},
    _choice(NORMS),
)

BOUNDS = (MIN, MAX, MIN_VALUE, MAX_VALUE, RANGE)
ELEMENT_BOUNDS = (MIN_VALUE, MAX_VALUE, RANGE)
LENGTHS = (MIN_LENGTH, MAX_LENGTH)


def check_keys(type_name: str, keys: Mapping[str, Key], constraints: object) -> dict[str, Any]:
    """Normalise a constraints mapping for a type; an unknown key or a bad value names the key."""
    if constraints is None:
        return {}
    if not isinstance(constraints, Mapping):
        raise InvalidArgument(f"constraints must be a JSON object, got {type(constraints).__name__}")
    checked: dict[str, Any] = {}
    for name, value in constraints.items():
        key = keys.get(name)
        if key is None:
            accepted = ", ".join(keys) or "none"
            raise InvalidArgument(f"constraint '{name}' is not valid for type {type_name} (accepted: {accepted})")
        try:
            checked[name] = key.check(value)
        except ValueError as exc:
            raise InvalidArgument(f"constraint '{name}' {exc}") from None
    _check_order(checked, "min", "max")
    _check_order(checked, "min_value", "max_value")
    _check_order(checked, "min_length", "max_length")
    return checked


def _check_order(constraints: Mapping[str, Any], low: str, high: str) -> None:
    if low in constraints and high in constraints and constraints[low] > constraints[high]:
        raise InvalidArgument(f"constraint '{low}' {constraints[low]} is above '{high}' {constraints[high]}")


def schema(keys: Mapping[str, Key]) -> dict[str, Any]:
    """JSON schema of a constraints object accepting exactly ``keys``."""
    return {
        "type": "object",
        "properties": {name: {**key.schema, "description": key.description} for name, key in keys.items()},
        "additionalProperties": False,
    }


def bounds(constraints: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """(rule, low, high) for every bound given; ``rule`` names it in error messages."""
    found: list[tuple[str, float, float]] = []
    for key in ("min", "min_value"):
        if key in constraints:
            found.append((key, constraints[key], math.inf))
    for key in ("max", "max_value"):
        if key in constraints:
            found.append((key, -math.inf, constraints[key]))
    if "range" in constraints:
        low, high = constraints["range"]
        found.append(("range", low, high))
    return found


def check_bounds(value: float, constraints: Mapping[str, Any]) -> None:
    """Raise ``InvalidArgument('1.7 is above max 1.0')`` for the first bound ``value`` breaks."""
    for rule, low, high in bounds(constraints):
        message = bound_failure(value, rule, low, high)
        if message:
            raise InvalidArgument(message)


def bound_failure(value: float, rule: str, low: float, high: float, what: str | None = None) -> str | None:
    """The message for a broken bound, or None. ``what`` describes the value (default: its repr)."""
    shown = what if what is not None else repr(value)
    if math.isnan(value):
        return f"{shown} is not a number, so it cannot satisfy {rule}"
    if rule == "range":
        if not low <= value <= high:
            return f"{shown} is outside range [{low}, {high}]"
        return None
    if value < low:
        return f"{shown} is below {rule} {low}"
    if value > high:
        return f"{shown} is above {rule} {high}"
    return None


def check_length(length: int, constraints: Mapping[str, Any], unit: str) -> None:
    if "min_length" in constraints and length < constraints["min_length"]:
        raise InvalidArgument(f"length {length} is below min_length {constraints['min_length']} {unit}")
    if "max_length" in constraints and length > constraints["max_length"]:
        raise InvalidArgument(f"length {length} is above max_length {constraints['max_length']} {unit}")
