"""JSON schemas and value converters derived from type hints.

Every registered tool, of any plugin, gets a parameter schema from its
signature, so callers (Elixir, agents) can see what it takes and the host
can validate before calling. The same walk over each hint yields a
converter that turns the JSON value into what the hint asks for (a float
for ``float``, an Enum member, a dataclass, a numpy array), so schema and
conversion never disagree.

Nothing heavy is imported here: numpy and pydantic are recognised by duck
typing and imported only inside converters, at call time.
"""

from __future__ import annotations

import base64
import collections.abc
import dataclasses
import enum
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from snakepit_host._errors import RegistrationError
from snakepit_host._parameters import BINARY_KEYWORD
from snakepit_host.codec import TypedBuffer, to_json_bytes, to_jsonable

Converter = Callable[[Any], Any]

_SCALARS: Mapping[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
_SEQUENCES = (
    list,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
)
_SETS = (set, frozenset, collections.abc.Set, collections.abc.MutableSet)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_ITERATORS = (
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
)
_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
_JSON_SCALARS = (str, int, float, bool, type(None))


class UnsupportedHint(Exception):
    """A type hint with no JSON-schema form; the message says which."""


# The records below are plain classes with slots: every worker defines them at start-up, and
# defining a NamedTuple costs ~0.15-0.3 ms each (bench/bench_host.py prints the start-up timeline).


class Shape:
    """What one hint means on the wire and how to turn a wire value into it.

    ``convert``: JSON value -> the value the hint asks for (never called with None).
    ``binary``: ``bytes``/``TypedBuffer`` parameter -> value; None when binary is not accepted.
    """

    __slots__ = ("binary", "convert", "schema")

    def __init__(
        self, schema: dict[str, Any], convert: Converter | None = None, binary: Converter | None = None
    ) -> None:
        self.schema = schema
        self.convert = convert
        self.binary = binary


class ParameterPlan:
    __slots__ = ("default", "name", "required", "shape")

    def __init__(self, name: str, shape: Shape, required: bool, default: Any = None) -> None:
        self.name = name
        self.shape = shape
        self.required = required
        self.default = default


class SignaturePlan:
    """A tool's keyword parameters, as the executor needs them.

    ``extra``: the shape of ``**kwargs`` values, or None when the function takes no ``**kwargs``.
    """

    __slots__ = ("defs", "extra", "parameters", "wants_ctx")

    def __init__(
        self, parameters: tuple[ParameterPlan, ...], wants_ctx: bool, extra: Shape | None, defs: dict[str, Any]
    ) -> None:
        self.parameters = parameters
        self.wants_ctx = wants_ctx
        self.extra = extra
        self.defs = defs

    def schema(self, descriptions: Mapping[str, str]) -> dict[str, Any]:
        """The parameters as a JSON schema (draft 2020-12)."""
        properties: dict[str, Any] = {}
        for parameter in self.parameters:
            prop = dict(parameter.shape.schema)
            if parameter.name in descriptions:
                prop["description"] = descriptions[parameter.name]
            if not parameter.required:
                default = _json_default(parameter.default)
                if default is not _NO_DEFAULT:
                    prop["default"] = default
            properties[parameter.name] = prop
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": _extra_schema(self.extra),
        }
        if self.defs:
            schema["$defs"] = self.defs
        return schema


def plan_signature(function: Callable[..., Any], tool_name: str, *, lenient: bool = False) -> SignaturePlan:
    """Read a function's keyword parameters and their hints; unusable ones raise RegistrationError.

    ``lenient`` (the tool brought its own schema) treats a hint without a
    JSON form as "any value, passed unchanged" instead.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"tool '{tool_name}': cannot read its signature: {exc}") from None
    hints = type_hints(function)
    walker = _Walker()
    parameters: list[ParameterPlan] = []
    extra: Shape | None = None
    wants_ctx = False
    for parameter in signature.parameters.values():
        where = f"tool '{tool_name}': parameter '{parameter.name}'"
        if parameter.name == "ctx":
            wants_ctx = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise RegistrationError(f"{where}: *args cannot be filled from named parameters; use a list parameter")
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY and parameter.default is inspect.Parameter.empty:
            raise RegistrationError(f"{where} is positional-only; tools are called with keyword arguments")
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            continue  # has a default and can never be passed by name: not part of the tool
        try:
            shape = walker.shape(hints.get(parameter.name, Any))
        except UnsupportedHint as exc:
            if not lenient:
                raise RegistrationError(f"{where}: {exc}") from None
            shape = Shape({})
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = shape
            continue
        required = parameter.default is inspect.Parameter.empty
        if parameter.default is None and not allows_null(shape.schema):
            shape = Shape({"anyOf": [shape.schema, {"type": "null"}]}, shape.convert, shape.binary)
        parameters.append(ParameterPlan(parameter.name, shape, required, None if required else parameter.default))
    return SignaturePlan(tuple(parameters), wants_ctx, extra, walker.defs)


def returns_schema(function: Callable[..., Any], tool_name: str, streaming: bool) -> dict[str, Any] | None:
    """Schema of the result (of each item, for streaming tools); None when not expressible."""
    hint = type_hints(function).get("return", inspect.Parameter.empty)
    if hint is inspect.Parameter.empty:
        return None
    if streaming and typing.get_origin(hint) in _ITERATORS:
        args = typing.get_args(hint)
        hint = args[0] if args else Any
    walker = _Walker()
    try:
        schema = walker.shape(hint).schema
    except UnsupportedHint:
        return None
    return {**schema, "$defs": walker.defs} if walker.defs else schema


def type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """Resolved hints of a function, bound method, callable object or partial.

    A hint that cannot be resolved (typically ``ctx: SessionContext`` imported
    only under ``TYPE_CHECKING``) does not spoil the others: it maps to an
    :class:`Unresolved` marker, which is an error only where the hint is used.
    """
    target: Any = function
    if isinstance(function, functools.partial):
        target = function.func
    elif not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isbuiltin(function)):
        target = type(function).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except TypeError:
        return {}
    except Exception:
        pass
    annotations = getattr(target, "__annotations__", None) or {}
    namespace = getattr(inspect.unwrap(getattr(target, "__func__", target)), "__globals__", {})
    hints: dict[str, Any] = {}
    for name, annotation in annotations.items():
        try:
            hints[name] = typing.get_type_hints(_Annotated({name: annotation}, namespace), include_extras=True)[name]
        except Exception as exc:
            hints[name] = Unresolved(annotation, f"{type(exc).__name__}: {exc}")
    return hints


class _Annotated:
    """Stands in for a function with one annotation, so typing resolves it in the function's globals."""

    def __init__(self, annotations: dict[str, Any], namespace: dict[str, Any]) -> None:
        self.__annotations__ = annotations
        self.__globals__ = namespace


class Unresolved:
    """A hint that could not be resolved, and why."""

    __slots__ = ("annotation", "reason")

    def __init__(self, annotation: Any, reason: str) -> None:
        self.annotation = annotation
        self.reason = reason


def allows_null(schema: Mapping[str, Any]) -> bool:
    """Whether ``null`` can validate against ``schema`` (conservatively: by its top-level form)."""
    if not schema or schema.get("type") == "null":
        return True
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        return True
    if None in schema.get("enum", ()):
        return True
    return any(allows_null(option) for option in schema.get("anyOf", ()))


_NO_DEFAULT = object()


def _json_default(value: Any) -> Any:
    """A default as JSON, or _NO_DEFAULT when it has no JSON form (it is then simply not shown)."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return json.loads(to_json_bytes(to_jsonable(value)))
    except Exception:
        return _NO_DEFAULT


def _extra_schema(extra: Shape | None) -> Any:
    if extra is None:
        return False
    return extra.schema or True


class _Walker:
    """Turns hints into shapes; named classes go to ``$defs`` (which also makes recursion work)."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self._names: dict[type, str] = {}
        self._converters: dict[str, Converter | None] = {}

    def shape(self, hint: Any) -> Shape:
        if hint is Any or hint is object or hint is inspect.Parameter.empty:
            return Shape({})
        if hint is None:
            hint = type(None)
        if isinstance(hint, Unresolved):
            raise UnsupportedHint(f"cannot resolve its type hint {hint.annotation!r} ({hint.reason})")
        if isinstance(hint, str):
            raise UnsupportedHint(f"type hint {hint!r} is an unresolved forward reference")
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Annotated:
            return self._annotated(args)
        if hint in _SCALARS:
            return _scalar(hint)
        if hint in (bytes, bytearray):
            return Shape(
                {"type": "string", "contentEncoding": "base64", BINARY_KEYWORD: "bytes"}, _from_base64, _raw_bytes
            )
        if origin in _UNION_TYPES:
            return self._union(args)
        if origin is typing.Literal:
            return _enum_shape(list(args), None, f"Literal{list(args)!r}")
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _enum_shape([member.value for member in hint], hint, hint.__name__)
        if hint is TypedBuffer or _is_ndarray(hint):
            return _array_shape(hint)
        if origin is tuple or hint is tuple:
            return self._tuple(args)
        if origin in _SEQUENCES or hint is list:
            return self._sequence(args, None)
        if origin in _SETS or hint in (set, frozenset):
            return self._sequence(args, frozenset if (origin or hint) is frozenset else set)
        if origin in _MAPPINGS or hint is dict:
            return self._mapping(args)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._named(hint, self._dataclass)
        if isinstance(hint, type) and hasattr(hint, "model_json_schema") and hasattr(hint, "model_validate"):
            return self._named(hint, self._pydantic)
        supertype = getattr(hint, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self.shape(supertype)
        if isinstance(hint, typing.TypeVar):
            return self.shape(hint.__bound__ or Any)
        raise UnsupportedHint(
            f"type hint {_hint_name(hint)} has no JSON-schema form (use str, int, float, bool, bytes, list[...], "
            "dict[str, ...], Optional/unions, Literal, an Enum, a dataclass, a pydantic model or a numpy array, "
            "or give the tool an explicit parameters= schema)"
        )

    def _annotated(self, args: tuple[Any, ...]) -> Shape:
        """``Annotated[X, "text"]`` adds a description, ``Annotated[X, {"minimum": 1}]`` JSON-schema keywords."""
        inner = self.shape(args[0])
        schema = dict(inner.schema)
        for item in args[1:]:
            if isinstance(item, str):
                schema["description"] = item
            elif isinstance(item, Mapping):
                keywords = {str(key): value for key, value in item.items()}
                _check_keywords(keywords)
                schema.update(keywords)
        return Shape(schema, inner.convert, inner.binary) if schema != inner.schema else inner

    def _union(self, args: tuple[Any, ...]) -> Shape:
        nullable = type(None) in args
        members = [self.shape(arg) for arg in args if arg is not type(None)]
        if not members:
            return Shape({"type": "null"})
        simple = [m.schema["type"] for m in members if set(m.schema) == {"type"} and isinstance(m.schema["type"], str)]
        if len(simple) == len(members):
            kinds = list(dict.fromkeys(simple + (["null"] if nullable else [])))
            schema: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
        else:
            options = [m.schema for m in members] + ([{"type": "null"}] if nullable else [])
            schema = {"anyOf": options} if len(options) > 1 else options[0]
        converters = [m for m in members if m.convert is not None]
        binary = next((m.binary for m in members if m.binary is not None), None)
        if not converters:
            return Shape(schema, None, binary)
        if len(members) == 1:
            return Shape(schema, members[0].convert, binary)
        return Shape(schema, _union_converter(members), binary)

    def _tuple(self, args: tuple[Any, ...]) -> Shape:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = self.shape(args[0]) if args else Shape({})
            return _array(item, tuple)
        if args == ((),):  # tuple[()]
            return Shape({"type": "array", "maxItems": 0}, tuple)
        items = [self.shape(arg) for arg in args]
        schema = {
            "type": "array",
            "prefixItems": [item.schema for item in items],
            "items": False,
            "minItems": len(items),
            "maxItems": len(items),
        }
        converters = [item.convert for item in items]

        def convert(value: Any) -> Any:
            return tuple(v if c is None or v is None else c(v) for c, v in zip(converters, value, strict=True))

        return Shape(schema, convert)

    def _sequence(self, args: tuple[Any, ...], container: type | None) -> Shape:
        item = self.shape(args[0]) if args else Shape({})
        shape = _array(item, container)
        if container is not None:
            shape = Shape({**shape.schema, "uniqueItems": True}, shape.convert)
        return shape

    def _mapping(self, args: tuple[Any, ...]) -> Shape:
        if args and args[0] not in (str, Any):
            raise UnsupportedHint(f"dict keys must be str (JSON object keys are strings), not {_hint_name(args[0])}")
        value = self.shape(args[1]) if len(args) > 1 else Shape({})
        schema: dict[str, Any] = {"type": "object"}
        if value.schema:
            schema["additionalProperties"] = value.schema
        element = value.convert
        if element is None:
            return Shape(schema)

        def convert(mapping: Any) -> Any:
            return {k: v if v is None else element(v) for k, v in mapping.items()}

        return Shape(schema, convert)

    def _named(self, cls: type, build: Callable[[type], tuple[dict[str, Any], Converter]]) -> Shape:
        """A class schema in ``$defs`` referenced by ``$ref``; built once, recursion-safe."""
        name = self._names.get(cls)
        if name is None:
            name = cls.__name__ if cls.__name__ not in self.defs else f"{cls.__module__}.{cls.__qualname__}"
            self._names[cls] = name
            self.defs[name] = {}  # placeholder while fields that refer back to cls are walked
            self.defs[name], self._converters[name] = build(cls)
        converters = self._converters
        key = name

        def convert(value: Any) -> Any:
            converter = converters[key]
            return converter(value) if converter is not None else value

        return Shape({"$ref": "#/$defs/" + name.replace("~", "~0").replace("/", "~1")}, convert)

    def _dataclass(self, cls: type) -> tuple[dict[str, Any], Converter]:
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            raise UnsupportedHint(f"cannot resolve the hints of dataclass {cls.__name__}: {exc}") from None
        properties: dict[str, Any] = {}
        required: list[str] = []
        converters: dict[str, Converter | None] = {}
        for item in dataclasses.fields(cls):
            if not item.init:
                continue
            try:
                shape = self.shape(hints.get(item.name, Any))
            except UnsupportedHint as exc:
                raise UnsupportedHint(f"field '{item.name}' of dataclass {cls.__name__}: {exc}") from None
            properties[item.name] = shape.schema
            converters[item.name] = shape.convert
            if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                required.append(item.name)
        schema = {
            "type": "object",
            "title": cls.__name__,
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

        def convert(value: Any) -> Any:
            if isinstance(value, cls):
                return value
            arguments = {}
            for key, item in value.items():
                converter = converters.get(key)
                arguments[key] = item if converter is None or item is None else converter(item)
            return cls(**arguments)

        return schema, convert

    def _pydantic(self, cls: Any) -> tuple[dict[str, Any], Converter]:
        schema = dict(cls.model_json_schema(ref_template="#/$defs/{model}"))
        for name, nested in schema.pop("$defs", {}).items():
            if name in self.defs and self.defs[name] != nested:
                raise UnsupportedHint(f"two different models named {name} are used by one tool")
            self.defs[name] = nested

        def convert(value: Any) -> Any:
            return value if isinstance(value, cls) else cls.model_validate(value)

        return schema, convert


def _check_keywords(keywords: Mapping[str, Any]) -> None:
    """Keywords from ``Annotated`` metadata must be JSON (they are shown to callers as they are)."""
    try:
        to_json_bytes(keywords)
    except Exception as exc:
        raise UnsupportedHint(f"Annotated schema keywords {keywords!r:.100} are not JSON: {exc}") from None


def _scalar(hint: Any) -> Shape:
    return Shape({"type": _SCALARS[hint]}, _SCALAR_CONVERTERS.get(hint))


def _integral(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer, and Snakepit 0.4 sends numeric lists as floats.
    return int(value) if type(value) is float and value.is_integer() else value


def _floating(value: Any) -> Any:
    # JSON has one number type: 80 for a float parameter arrives as an int and is converted here.
    return float(value) if type(value) is int else value


_SCALAR_CONVERTERS: Mapping[Any, Converter] = {int: _integral, float: _floating}


def _array(item: Shape, container: type | None) -> Shape:
    schema: dict[str, Any] = {"type": "array"}
    if item.schema:
        schema["items"] = item.schema
    element = item.convert
    if element is None and container is None:
        return Shape(schema)
    build = container or list

    def convert(value: Any) -> Any:
        if element is None:
            return build(value)
        return build(v if v is None else element(v) for v in value)

    return Shape(schema, convert)


def _enum_shape(values: list[Any], cls: type[enum.Enum] | None, label: str) -> Shape:
    if not values or not all(isinstance(v, _JSON_SCALARS) for v in values):
        raise UnsupportedHint(f"{label} has values that are not JSON strings, numbers, booleans or null")
    schema: dict[str, Any] = {"enum": values}
    kinds = {_SCALARS[type(v)] for v in values}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    if cls is None:
        return Shape(schema)
    schema["title"] = cls.__name__
    enum_cls = cls

    def convert(value: Any) -> Any:
        return value if isinstance(value, enum_cls) else enum_cls(value)

    return Shape(schema, convert)


def _union_converter(members: list[Shape]) -> Converter:
    """The member whose JSON type is exactly the value's converts it (``int | float`` keeps 2 an int and
    2.5 a float); else a value a plain member accepts stays as it is; else the first converter that takes it wins.
    """
    exact = {kind: m for m in members for kind in _scalar_kinds(m.schema)}

    def convert(value: Any) -> Any:
        fit = exact.get(_EXACT_KINDS.get(type(value), ""))
        if fit is not None:
            return fit.convert(value) if fit.convert is not None else value
        first_error: Exception | None = None
        for member in members:
            if member.convert is None:
                if _plainly_matches(member.schema, value):
                    return value
                continue
            try:
                return member.convert(value)
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return value

    return convert


_EXACT_KINDS: Mapping[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _scalar_kinds(schema: Mapping[str, Any]) -> list[str]:
    """The JSON scalar type of a member that is nothing but that type (``{"type": "number"}``)."""
    kind = schema.get("type")
    return [kind] if set(schema) == {"type"} and isinstance(kind, str) and kind in _EXACT_KINDS.values() else []


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list, tuple),
    "object": (dict,),
}


def _plainly_matches(schema: Mapping[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    if "enum" in schema:
        return value in schema["enum"]
    kinds = [kind] if isinstance(kind, str) else kind or []
    return any(isinstance(value, _JSON_TYPES.get(k, ())) and (k == "boolean") == isinstance(value, bool) for k in kinds)


# ---------------------------------------------------------------- binary and arrays


def _is_ndarray(hint: Any) -> bool:
    cls = typing.get_origin(hint) or hint
    return isinstance(cls, type) and cls.__name__ == "ndarray" and cls.__module__ == "numpy"


def _array_dtype(hint: Any) -> str | None:
    """``float32`` for ``NDArray[np.float32]``; None when the hint leaves the dtype open."""
    args = typing.get_args(hint)
    if len(args) < 2:
        return None
    scalar = typing.get_args(args[1])
    if not scalar or not isinstance(scalar[0], type):
        return None
    name = scalar[0].__name__
    return None if name == "generic" else name


def _array_shape(hint: Any) -> Shape:
    dtype = _array_dtype(hint)
    element = "number"
    if dtype is not None and dtype.startswith(("int", "uint")):
        element = "integer"
    elif dtype in ("bool", "bool_"):
        element = "boolean"
    schema = {
        "type": "array",
        "items": {"type": [element, "array"]},
        BINARY_KEYWORD: "ndarray",
        "$comment": "nested lists of numbers, or a typed binary parameter (dtype, shape, raw bytes)",
    }
    if hint is TypedBuffer:
        return Shape(schema, _list_to_buffer, _typed_buffer)
    return Shape(schema, _list_to_array(dtype), _buffer_to_array(dtype))


def _list_to_array(dtype: str | None) -> Converter:
    def convert(value: Any) -> Any:
        import numpy

        array = numpy.asarray(value, dtype=dtype)
        if array.dtype == object:
            raise ValueError("is not a rectangular array of numbers")
        return array

    return convert


def _buffer_to_array(dtype: str | None) -> Converter:
    def convert(value: Any) -> Any:
        array = _typed_buffer(value).to_numpy()
        return array if dtype is None or array.dtype.name == dtype else array.astype(dtype)

    return convert


def _list_to_buffer(value: Any) -> TypedBuffer:
    return TypedBuffer.from_array(_list_to_array(None)(value))


def _typed_buffer(value: Any) -> TypedBuffer:
    if not isinstance(value, TypedBuffer):
        raise ValueError("raw bytes cannot be an array: send a typed buffer (dtype and shape) or a JSON list")
    return value


def _raw_bytes(value: Any) -> bytes:
    return bytes(value.data) if isinstance(value, TypedBuffer) else bytes(value)


def _from_base64(value: Any) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError("is not valid base64 (send bytes as a binary parameter or as base64 text)") from None


def _hint_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__qualname__ if hint.__module__ == "builtins" else f"{hint.__module__}.{hint.__qualname__}"
    return repr(hint)
