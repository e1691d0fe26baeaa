"""Checking call parameters against a tool's JSON schema, with jsonschema.

jsonschema costs about 80 ms to import, so it is imported on the first
validation, not at start-up; each tool's validator is compiled on its first
call and kept. A call that passes costs one ``is_valid`` pass; only a call
that fails pays for collecting every error, so the message lists them all.

Most tools take plain scalars, and for those the verdict depends only on
which names are present and the types (or, for enums, the values) of what
was sent. :class:`VerdictMemo` remembers the shapes jsonschema accepted, so
repeat calls of the same shape skip the validator; anything it cannot
classify goes to jsonschema, which remains the only judge.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from snakepit_host import FailedPrecondition
from snakepit_tools.schema import BINARY_KEYWORD

_MESSAGE_LIMIT = 300


class ParameterValidator:
    """One tool's compiled validator (lazily) and its error reporting."""

    def __init__(self, tool_name: str, schema: Mapping[str, Any], *, check_schema: bool) -> None:
        self.tool_name = tool_name
        self.schema = schema
        self._check_schema = check_schema
        self._validator: Any = None
        self._lock = threading.Lock()
        self._memo = VerdictMemo.for_schema(schema)
        properties = schema.get("properties")
        self._properties: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
        self._required: list[str] = [name for name in schema.get("required", ()) if isinstance(name, str)]
        self._closed = schema.get("additionalProperties") is False

    def is_valid(self, params: Mapping[str, Any]) -> bool:
        memo = self._memo
        key = memo.key(params) if memo is not None else None
        if key is not None and key in memo.valid:  # type: ignore[union-attr]
            return True
        validator = self._validator or self._compile()
        if not validator.is_valid(params):
            return False
        if key is not None:
            memo.remember(key)  # type: ignore[union-attr]
        return True

    def problems(self, params: Mapping[str, Any]) -> list[str]:
        """Every way ``params`` breaks the schema, one phrase each."""
        validator = self._validator or self._compile()
        found = [f"missing required parameter '{name}'" for name in self._required if name not in params]
        if self._closed:
            found += [f"unknown parameter '{name}'" for name in params if name not in self._properties]
        errors = sorted(validator.iter_errors(params), key=lambda e: [str(part) for part in e.absolute_path])
        for error in errors:
            if not error.absolute_path and error.validator in ("required", "additionalProperties"):
                continue
            found.extend(_describe(error))
        return list(dict.fromkeys(found))

    def _compile(self) -> Any:
        with self._lock:
            if self._validator is None:
                from jsonschema import exceptions, validators  # type: ignore[import-untyped]

                cls = validators.validator_for(self.schema, default=validators.Draft202012Validator)
                if self._check_schema:
                    try:
                        cls.check_schema(self.schema)
                    except exceptions.SchemaError as exc:
                        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
                        raise FailedPrecondition(
                            f"tool '{self.tool_name}' has an invalid parameters schema at {where}: {exc.message}"
                        ) from None
                self._validator = cls(self.schema)
        return self._validator


def _describe(error: Any) -> list[str]:
    path = _format_path(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
        # Optional[X] given a non-null value: what is wrong with it as an X is the useful part.
        options = [i for i, o in enumerate(error.validator_value) if not _is_null_schema(o)]
        if error.instance is not None and len(options) == 1:
            inner = [e for e in error.context if e.relative_schema_path[0] == options[0]]
            if inner:
                return [line for e in inner for line in _describe(e)]
        message = f"{_short(error.instance)} is not {_expected(error.validator_value)}"
    else:
        message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return [f"parameter '{path}': {message}" if path else message]


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _format_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(options: list[Any]) -> str:
    """``an integer or null`` for the options of an anyOf."""
    names: list[str] = []
    for option in options:
        if not isinstance(option, Mapping):
            continue
        if "enum" in option:
            names.append(f"one of {option['enum']!r}")
        elif "$ref" in option:
            names.append(f"a {str(option['$ref']).rsplit('/', 1)[-1]} object")
        elif "type" in option:
            kinds = option["type"] if isinstance(option["type"], list) else [option["type"]]
            names.extend(_ARTICLES.get(str(kind), str(kind)) for kind in kinds)
    return " or ".join(dict.fromkeys(names)) or "valid under any of the allowed forms"


_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


# ---------------------------------------------------------------- verdict memo

_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "format",  # an annotation unless a format checker is given (none is)
        "contentEncoding",
        "contentMediaType",
        BINARY_KEYWORD,
    }
)
_ROOT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "$defs", "title", "description", "$schema", "$comment"}
)
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "array", "object"})
_HASHABLE_SCALARS = frozenset({str, int, float, bool, type(None)})
_BY_TYPE = 0
_BY_VALUE = 1


class VerdictMemo:
    """Shapes of parameters that jsonschema accepted, for schemas where the shape decides.

    A property decides by type when its only assertion is ``type`` (one or
    several JSON types), and by value when it is an ``enum``/``const``.
    The exception is a float sent for an integer: JSON Schema accepts 2.0
    but not 2.5, so such calls always go to the validator. Only accepted
    shapes are remembered (a rejected call must be explained anyway), and
    at most :attr:`LIMIT` of them.
    """

    LIMIT = 512

    def __init__(self, kinds: dict[str, int], integer_only: frozenset[str]) -> None:
        self.kinds = kinds
        self.integer_only = integer_only
        self.valid: set[tuple[Any, ...]] = set()

    @classmethod
    def for_schema(cls, schema: Mapping[str, Any]) -> VerdictMemo | None:
        if set(schema) - _ROOT_KEYWORDS or schema.get("type") != "object":
            return None
        if schema.get("additionalProperties", True) not in (True, False):
            return None
        properties = schema.get("properties", {})
        if not isinstance(properties, Mapping):
            return None
        kinds: dict[str, int] = {}
        integer_only: set[str] = set()
        for name, prop in properties.items():
            kind = _classify(prop)
            if kind is None:
                continue
            kinds[name] = kind
            types = _types(prop)
            if "integer" in types and "number" not in types:
                integer_only.add(name)
        return cls(kinds, frozenset(integer_only)) if kinds else None

    def key(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The shape of ``params``, or None when some parameter's verdict depends on more than its shape."""
        parts: list[Any] = []
        kinds = self.kinds
        for name, value in params.items():
            kind = kinds.get(name)
            if kind is None:
                return None
            value_type = type(value)
            if kind == _BY_TYPE:
                if value_type is float and name in self.integer_only:
                    return None
                parts.append((name, value_type))
            elif value_type in _HASHABLE_SCALARS:
                parts.append((name, value_type, value))
            else:
                return None
        return tuple(parts)

    def remember(self, key: tuple[Any, ...]) -> None:
        if len(self.valid) < self.LIMIT:
            self.valid.add(key)


def _types(prop: Mapping[str, Any]) -> set[str]:
    kind = prop.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        return set(kind)
    return set()


def _classify(prop: Any) -> int | None:
    if not isinstance(prop, Mapping):
        return None
    assertions = set(prop) - _ANNOTATIONS
    if assertions == {"type"}:
        types = _types(prop)
        return _BY_TYPE if types and types <= _JSON_TYPES else None
    if assertions in ({"enum"}, {"enum", "type"}, {"const"}, {"const", "type"}):
        return _BY_VALUE if "type" not in prop or _types(prop) <= _JSON_TYPES else None
    return None
