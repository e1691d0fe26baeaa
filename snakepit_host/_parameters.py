"""The host's one parameter validator: every command's and tool's JSON schema, enforced before its handler runs.

A command declares its parameters with ``register.command(..., parameters=schema)``;
a tool's schema is its explicit one or the one derived from its signature
(:mod:`snakepit_host._tool_calls`). Whatever the plugin, the host checks each
call against that schema before the handler runs, so handlers start from
parameters that are known to be right, and a caller learns every problem at
once, in one line naming the command and each parameter.

jsonschema does the judging (draft 2020-12). It costs about 80 ms to import,
so it is imported with the first call that needs it, never at start-up;
each command's validator is compiled (and its schema checked against the
meta-schema) on that command's first call, and kept. A call that passes
costs one ``is_valid`` pass; only a call that fails pays for collecting
every error. ``bench/bench_validation.py`` compares it with fastjsonschema,
which is faster but stops at the first error and does not implement draft
2020-12, so it cannot give these answers.

Two fast paths keep validation off the common call's bill: a schema that
accepts any object (``{"type": "object"}``, as ``echo`` has) is not checked
at all, and :class:`VerdictMemo` remembers the shapes jsonschema accepted,
for schemas where the shape decides.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from snakepit_host._errors import FailedPrecondition, InvalidArgument, RegistrationError

ROUTING_PARAMETERS = frozenset({"session_id"})
"""Keys that choose where a call runs (Snakepit's ``execute_in_session`` adds ``session_id``); never inputs."""
BINARY_KEYWORD = "x-snakepit-binary"
"""Marks a parameter that may also arrive in ``binary_parameters`` (value: ``bytes`` or ``ndarray``)."""

_MESSAGE_LIMIT = 300
_PROBLEM_LIMIT = 20


def check_schema_shape(label: str, schema: object) -> None:
    """The cheap structural checks, at registration; the meta-schema check runs on the first call."""
    problem = None
    if not isinstance(schema, Mapping):
        problem = f"must be a JSON-schema object, not {type(schema).__name__}"
    elif schema.get("type", "object") != "object":
        problem = f'must describe an object ("type": "object"), not {schema.get("type")!r}'
    elif not isinstance(schema.get("properties", {}), Mapping):
        problem = "'properties' must be an object"
    elif not isinstance(schema.get("required", []), list) or not all(
        isinstance(item, str) for item in schema.get("required", [])
    ):
        problem = "'required' must be a list of names"
    if problem:
        raise RegistrationError(f"{label}: parameters schema {problem}")


class ParameterValidator:
    """One command's schema, compiled on first use, and its error reporting."""

    def __init__(self, label: str, schema: Mapping[str, Any] | None) -> None:
        self.label = label
        """``command 'name'`` or ``tool 'name'``: how messages name the command."""
        self.schema: Mapping[str, Any] = schema if schema is not None else {}
        self.accepts_anything = accepts_any_object(self.schema)
        self._validator: Any = None
        self._lock = threading.Lock()
        self._memo = None if self.accepts_anything else VerdictMemo.for_schema(self.schema)
        properties = self.schema.get("properties")
        self._properties: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
        self._required: list[str] = [name for name in self.schema.get("required", ()) if isinstance(name, str)]
        self._additional = self.schema.get("additionalProperties", True)

    # ------------------------------------------------------------ checking

    def check(self, params: Mapping[str, Any], binary: Mapping[str, Any] | None = None) -> None:
        """Return if ``params`` (and the binary parameters) fit the schema, else raise InvalidArgument listing all."""
        if binary:
            self._check_with_binary(params, binary)
        elif not self.accepts_anything and not self.is_valid(params):
            raise InvalidArgument(summary(self.label, self.problems(params)))

    def is_valid(self, params: Mapping[str, Any]) -> bool:
        memo = self._memo
        if memo is not None and memo.knows(params):
            return True
        if not (self._validator or self._compile()).is_valid(params):
            return False
        if memo is not None:
            memo.remember(params)
        return True

    def problems(self, params: Mapping[str, Any]) -> list[str]:
        """Every way ``params`` breaks the schema, one phrase each."""
        validator = self._validator or self._compile()
        found = [f"missing required parameter '{name}'" for name in self._required if name not in params]
        if self._additional is False:
            names = sorted(self._properties)
            accepted = f"accepted: {', '.join(names[:_PROBLEM_LIMIT])}" if names else "it takes no parameters"
            found += [
                f"unknown parameter '{name[:100]}' ({accepted})" for name in params if name not in self._properties
            ]
        errors = sorted(validator.iter_errors(params), key=lambda e: [str(part) for part in e.absolute_path])
        for error in errors:
            if not error.absolute_path and error.validator in ("required", "additionalProperties"):
                continue  # listed above, by name
            found.extend(_describe(error))
        return list(dict.fromkeys(found))

    def _check_with_binary(self, params: Mapping[str, Any], binary: Mapping[str, Any]) -> None:
        """jsonschema sees a stand-in of a binary parameter's JSON form; where binary is refused, only that is said."""
        view = dict(params)
        refused: dict[str, str] = {}
        for name in sorted(binary):
            prop = self._properties.get(name)
            if prop is None and self._additional is False:
                refused[name] = f"unknown parameter '{name[:100]}'"
                continue
            if not accepts_binary(prop if prop is not None else self._additional):
                refused[name] = f"parameter '{name[:100]}' arrived as binary data, but it does not accept binary"
            if prop is not None:
                view[name] = _stand_in(prop)
        if not refused and (self.accepts_anything or self.is_valid(view)):
            return
        # What is said about a stand-in is not about the data that arrived: leave it out.
        about_binary = tuple(f"parameter '{name[:100]}{end}" for name in binary for end in ("'", ".", "["))
        problems = list(refused.values()) + [p for p in self.problems(view) if not p.startswith(about_binary)]
        if problems:
            raise InvalidArgument(summary(self.label, problems))

    # ------------------------------------------------------------ compiling

    def _compile(self) -> Any:
        with self._lock:
            if self._validator is None:
                from jsonschema import exceptions, validators  # type: ignore[import-untyped]

                cls = validators.validator_for(self.schema, default=validators.Draft202012Validator)
                try:
                    cls.check_schema(self.schema)
                except exceptions.SchemaError as exc:
                    where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
                    raise FailedPrecondition(
                        f"{self.label} has an invalid parameters schema at {where}: {exc.message}"
                    ) from None
                self._validator = cls(self.schema)
        return self._validator


def summary(label: str, problems: list[str]) -> str:
    """``tool 'x': 2 problems with the parameters: ...; ...`` (the first few, when there are very many)."""
    problems = problems or ["the parameters do not match the schema"]
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    shown = problems[:_PROBLEM_LIMIT]
    more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return f"{label}: {count} with the parameters: " + "; ".join(shown) + more


# ---------------------------------------------------------------- what a schema accepts

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
    }
)
"""Keywords that constrain nothing; so does every vendor keyword (``x-...``), which JSON Schema ignores."""


def _assertions(schema: Mapping[str, Any]) -> set[str]:
    """The keywords of ``schema`` that may refuse a value."""
    return {key for key in schema if key not in _ANNOTATIONS and not key.startswith("x-")}


def accepts_any_value(schema: Any) -> bool:
    """``True``, ``{}`` or a schema of annotations only: every value is valid."""
    return schema is True or (isinstance(schema, Mapping) and not _assertions(schema))


def accepts_binary(schema: Any) -> bool:
    """A parameter may arrive as binary data when its schema says so, or when it takes any value."""
    return accepts_any_value(schema) or (isinstance(schema, Mapping) and schema.get(BINARY_KEYWORD) is not None)


def accepts_any_object(schema: Mapping[str, Any]) -> bool:
    """Whether every parameter map is valid (then no call needs checking)."""
    extra = _assertions(schema) - {"type", "properties", "additionalProperties", "$schema", "$defs"}
    if extra or schema.get("type", "object") != "object":
        return False
    properties = schema.get("properties", {})
    return (
        isinstance(properties, Mapping)
        and all(accepts_any_value(p) for p in properties.values())
        and accepts_any_value(schema.get("additionalProperties", True))
    )


_STAND_INS: Mapping[str, Any] = {"string": "", "array": [], "object": {}, "integer": 0, "number": 0, "boolean": False}


def _stand_in(schema: Any) -> Any:
    """A plain value of the JSON type a schema (or its first typed option) asks for, standing in for binary data."""
    if not isinstance(schema, Mapping):
        return ""
    options = [schema, *(o for o in schema.get("anyOf", ()) if isinstance(o, Mapping))]
    for name in (kind for option in options for kind in _types(option)):
        if name in _STAND_INS:
            return _STAND_INS[name]
    return ""


# ---------------------------------------------------------------- one phrase per error


def _describe(error: Any) -> list[str]:
    path = _format_path(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
        options = [o for o in error.validator_value if isinstance(o, Mapping)]
        if options and all(_is_required_only(o) for o in options):
            # {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}: a choice between parameters,
            # or between forms of a command ({"required": ["a", "b"]}: 'a' and 'b', together).
            groups = [" and ".join(f"'{n}'" for n in o["required"]) for o in options]
            names = (", or " if any(len(o["required"]) > 1 for o in options) else " or ").join(groups)
            how = "exactly one" if error.validator == "oneOf" else "at least one"
            return [f"give {how} of {names}"]
        # Optional[X] given a non-null value: what is wrong with it as an X is the useful part.
        indexes = [i for i, o in enumerate(error.validator_value) if not _is_null_schema(o)]
        if error.instance is not None and len(indexes) == 1:
            inner = [e for e in error.context if e.relative_schema_path[0] == indexes[0]]
            if inner:
                return [line for e in inner for line in _describe(e)]
        message = f"{_short(error.instance)} is not {_expected(error.validator_value)}"
    elif error.validator == "not" and _is_required_only(error.validator_value):
        # {"not": {"required": ["a", "b"]}}: parameters that exclude each other.
        message = " and ".join(f"'{n}'" for n in error.validator_value["required"]) + " cannot be given together"
    else:
        message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return [f"parameter '{path}': {message}" if path else message]


def _is_required_only(schema: Any) -> bool:
    return isinstance(schema, Mapping) and set(schema) == {"required"} and isinstance(schema["required"], list)


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _format_path(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part)[:100])
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

_ROOT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "$defs", "title", "description", "$schema", "$comment"}
)
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "array", "object"})
_HASHABLE_SCALARS = frozenset({str, int, float, bool, type(None)})
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_LENGTHS = frozenset({"minLength", "maxLength"})
_ANY = 0
_BY_TYPE = 1
_BY_VALUE = 2
_BY_LENGTH = 3


class VerdictMemo:
    """What jsonschema accepted, remembered in parts, for object schemas whose verdict splits into parts.

    For a schema of ``properties``, ``required`` and a boolean
    ``additionalProperties`` (annotations aside), parameters are valid
    exactly when their set of names is (the required ones present, no
    unknown one if closed) and each value is valid for its property. After
    jsonschema accepts a call, both are remembered: the set of names, and
    for each value a key that decides its property's verdict. A later call
    whose names and keys are all known is valid without asking jsonschema
    again; anything else goes to jsonschema, which remains the only judge.

    A property's key is its value's type when the property asserts only a
    ``type``; the value itself for an ``enum``/``const`` or a number with
    bounds (``minimum``...); the type and length for a string with only
    ``minLength``/``maxLength``; nothing for a property that takes any value.
    Other properties (patterns, arrays with item schemas, objects...) make
    every call that sends them go to jsonschema. A float sent for an
    integer by type is never remembered (JSON Schema accepts 2.0, not 2.5).
    At most :attr:`LIMIT` name sets and keys per property are kept.
    """

    LIMIT = 512

    def __init__(self, kinds: dict[str, int], integer_only: frozenset[str], open_names: bool) -> None:
        self.kinds = kinds
        self.integer_only = integer_only
        self.open_names = open_names
        """Names the schema does not list are allowed, with any value."""
        self.names: set[frozenset[str]] = set()
        self.values: dict[str, set[Any]] = {name: set() for name in kinds}

    @classmethod
    def for_schema(cls, schema: Mapping[str, Any]) -> VerdictMemo | None:
        if set(schema) - _ROOT_KEYWORDS or schema.get("type") != "object":
            return None
        additional = schema.get("additionalProperties", True)
        properties = schema.get("properties", {})
        if additional not in (True, False) or not isinstance(properties, Mapping):
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
        return cls(kinds, frozenset(integer_only), additional is True and not properties.keys() - kinds.keys())

    def knows(self, params: Mapping[str, Any]) -> bool:
        """Whether every part of ``params`` was seen in calls jsonschema accepted."""
        if frozenset(params) not in self.names:
            return False
        values = self.values
        for name, value in params.items():
            known = values.get(name)
            if known is None:
                if self.open_names and name not in self.kinds:
                    continue
                return False
            key = self._key(name, value)
            if key is None or key not in known:
                return False
        return True

    def remember(self, params: Mapping[str, Any]) -> None:
        """Record the parts of ``params``, which jsonschema has just accepted."""
        if len(self.names) < self.LIMIT:
            self.names.add(frozenset(params))
        for name, value in params.items():
            known = self.values.get(name)
            if known is not None and len(known) < self.LIMIT:
                key = self._key(name, value)
                if key is not None:
                    known.add(key)

    def _key(self, name: str, value: Any) -> Any:
        """What decides ``value``'s verdict for property ``name``; None when that is more than the memo keeps."""
        kind = self.kinds[name]
        value_type = type(value)
        if kind == _ANY:
            return True
        if kind == _BY_TYPE:
            return None if value_type is float and name in self.integer_only else value_type
        if kind == _BY_LENGTH:
            return (value_type, len(value)) if value_type is str else (value_type, None)
        return (value_type, value) if value_type in _HASHABLE_SCALARS else None


def _types(prop: Mapping[str, Any]) -> set[str]:
    kind = prop.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        return set(kind)
    return set()


def _classify(prop: Any) -> int | None:
    if accepts_any_value(prop):
        return _ANY
    if not isinstance(prop, Mapping):
        return None
    assertions = _assertions(prop)
    types = _types(prop)
    if "type" in prop and not (types and types <= _JSON_TYPES):
        return None
    if assertions == {"type"}:
        return _BY_TYPE
    if assertions in ({"enum"}, {"enum", "type"}, {"const"}, {"const", "type"}):
        return _BY_VALUE
    rest = assertions - {"type"}
    if "type" in assertions and rest <= _BOUNDS and types <= {"integer", "number", "null"}:
        return _BY_VALUE
    if types == {"string"} and rest <= _LENGTHS:
        return _BY_LENGTH
    return None
