"""What an adapter class offers, read without calling it: its ``@tool`` methods, dispatch, thread safety.

Snakepit's ``@tool(description, supports_streaming, required_variables)``
only sets ``func._tool_metadata`` (notes §2), so tools are found by that
attribute, on the class, in name order, as ``BaseAdapter.get_tools`` finds
them (static methods are not tools there either). Each tool's JSON schema is
derived from its signature and says what the call really accepts, because
the host checks parameters against it before the handler runs:

* an adapter with ``execute_tool`` receives every call there, whatever the
  arguments (Snakepit's only dispatch), so its schemas accept any object;
  the signature is shown as ``x-snakepit-type`` annotations, which constrain nothing;
* an adapter without one has its tool methods called directly: the schema
  has the method's parameters, required when they have no default, typed
  where the annotation is a plain JSON type, open only with ``**kwargs``.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PERMISSIVE_SCHEMA: Mapping[str, Any] = {"type": "object", "additionalProperties": True}

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    dict: "object",
    list: "array",
    tuple: "array",
    set: "array",
}
_ABSTRACT_TYPES: dict[Any, str] = {Mapping: "object", Sequence: "array"}


class NotAnAdapter(TypeError):
    """The class has none of what Snakepit calls on an adapter."""


@dataclass(frozen=True)
class AdapterTool:
    """One ``@tool`` method, as a host command."""

    name: str
    description: str
    streaming: bool
    required_variables: tuple[str, ...]
    parameters: Mapping[str, Any]
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class AdapterClass:
    """An adapter class and what Snakepit's server would do with it."""

    cls: type
    spec: str
    tools: tuple[AdapterTool, ...]
    dispatches: bool
    """Has ``execute_tool``: every call goes there (the tools and any other name)."""
    thread_safe: bool
    """``__thread_safe__`` is set: calls may run at the same time; otherwise they are serialised."""
    bridge: str | None
    """``"0.4"`` / ``"0.13"``: the Snakepit whose ``snakepit_bridge`` is loaded (None: none is)."""

    @property
    def name(self) -> str:
        return self.cls.__name__


def inspect_adapter(cls: type, spec: str) -> AdapterClass:
    """Read ``cls``; :class:`NotAnAdapter` when Snakepit could call nothing on it."""
    dispatches = callable(getattr(cls, "execute_tool", None))
    tools = tuple(_tool(cls, name, function, dispatches) for name, function in _tool_functions(cls))
    if not (dispatches or tools or callable(getattr(cls, "set_session_context", None))):
        raise NotAnAdapter(
            f"{spec} is not a Snakepit adapter (no execute_tool, @tool methods or set_session_context) "
            "and not a host plugin (no @hookimpl functions)"
        )
    return AdapterClass(
        cls=cls,
        spec=spec,
        tools=tools,
        dispatches=dispatches,
        thread_safe=bool(getattr(cls, "__thread_safe__", False)),
        bridge=loaded_bridge_version(),
    )


def loaded_bridge_version() -> str | None:
    """0.4.x's SessionContext has the variable API; 0.13's does not."""
    module = sys.modules.get("snakepit_bridge.session_context")
    context = getattr(module, "SessionContext", None)
    if context is None:
        return None
    return "0.4" if hasattr(context, "register_variable") else "0.13"


def _tool_functions(cls: type) -> list[tuple[str, Any]]:
    found = []
    for name in sorted(dir(cls)):
        raw = inspect.getattr_static(cls, name, None)
        function = raw.__func__ if isinstance(raw, classmethod) else raw
        if inspect.isfunction(function) and hasattr(function, "_tool_metadata"):
            found.append((name, function))
    return found


def _tool(cls: type, name: str, function: Any, dispatches: bool) -> AdapterTool:
    declared = function._tool_metadata
    description = str(getattr(declared, "description", "") or inspect.getdoc(function) or "")
    required_variables = tuple(str(v) for v in getattr(declared, "required_variables", None) or ())
    metadata = {"adapter_class": cls.__name__, "module": cls.__module__}
    if required_variables:
        metadata["required_variables"] = ",".join(required_variables)
    return AdapterTool(
        name=name,
        description=" ".join(description.split()),
        streaming=bool(getattr(declared, "supports_streaming", False)),
        required_variables=required_variables,
        parameters=parameter_schema(function, dispatches),
        metadata=metadata,
    )


def parameter_schema(function: Any, dispatches: bool) -> dict[str, Any]:
    """The JSON schema of what a call of ``function`` (first parameter ``self``/``cls`` dropped) accepts."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    hints = _hints(function)
    properties: dict[str, Any] = {}
    required: list[str] = []
    open_ended = dispatches
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            continue  # cannot be given by name
        annotation = hints.get(parameter.name, parameter.annotation)
        prop: dict[str, Any] = {"x-snakepit-type": reference_type(parameter.annotation)}
        if not dispatches:
            prop.update(json_type(annotation))
            if parameter.default is not inspect.Parameter.empty and _is_json(parameter.default):
                prop["default"] = parameter.default
            elif parameter.default is inspect.Parameter.empty:
                required.append(parameter.name)
        properties[parameter.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": open_ended}
    if required:
        schema["required"] = required
    return schema


def reference_type(annotation: Any) -> str:
    """The type word Snakepit announces in ``ParameterSpec.type`` (annotation name, lower case; ``any``)."""
    if annotation is inspect.Parameter.empty:
        return "any"
    return str(getattr(annotation, "__name__", annotation)).lower()


def json_type(annotation: Any) -> dict[str, Any]:
    """``{"type": ...}`` for annotations that are plain JSON types (``Optional`` adds null); else nothing."""
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        inner = json_type(members[0]) if len(members) == 1 else {}
        if inner and nullable:
            return {"type": [inner["type"], "null"]}
        return inner
    kind = _JSON_TYPES.get(origin) or _ABSTRACT_TYPES.get(origin)
    if kind is None and isinstance(origin, type) and not issubclass(origin, (str, bytes, bytearray)):
        kind = next((v for k, v in _ABSTRACT_TYPES.items() if issubclass(origin, k)), None)
    return {"type": kind} if kind is not None else {}


def _hints(function: Any) -> dict[str, Any]:
    """Evaluated annotations (``from __future__ import annotations`` makes them strings); none if that fails."""
    try:
        return typing.get_type_hints(function)
    except Exception:
        return {}


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
