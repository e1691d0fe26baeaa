"""The variable operations as commands, for callers that only have ExecuteTool (Snakepit 0.13).

Parameters are checked against the schemas in :mod:`snakepit_variables.catalog`
(names, required keys, JSON kinds) before anything runs. A large array
result comes back as the binary result with its description as the value;
a large array argument may come as the binary parameter ``value``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument
from snakepit_host.codec import Result, to_jsonable
from snakepit_variables.catalog import COMMANDS
from snakepit_variables.host_state import runtime_for
from snakepit_variables.session_variables import BatchError

if TYPE_CHECKING:
    from snakepit_host import SessionContext
    from snakepit_variables.model import HistoryEntry, Variable
    from snakepit_variables.session_variables import SessionVariables

_JSON_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
ROUTING_PARAMETERS = frozenset({"session_id"})


def checked(command: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without routing keys, after the schema's required keys, known names and kinds."""
    schema = COMMANDS[command][1]
    properties = schema["properties"]
    params = {k: v for k, v in params.items() if k not in ROUTING_PARAMETERS}
    problems = [f"missing required parameter '{p}'" for p in schema["required"] if p not in params]
    for key, value in params.items():
        spec = properties.get(key)
        if spec is None:
            problems.append(f"unknown parameter '{key}' (accepted: {', '.join(properties)})")
            continue
        kinds = _JSON_KINDS.get(spec.get("type", ""))
        wrong_bool = isinstance(value, bool) and spec.get("type") == "integer"
        if kinds is not None and (not isinstance(value, kinds) or wrong_bool):
            problems.append(f"parameter '{key}' must be of type {spec['type']}, got {type(value).__name__}")
        elif isinstance(value, int) and value < spec.get("minimum", value):
            problems.append(f"parameter '{key}' must be at least {spec['minimum']}, got {value}")
    if problems:
        raise InvalidArgument(f"{command}: " + "; ".join(problems))
    return params


def _variables(ctx: SessionContext) -> SessionVariables:
    return runtime_for(ctx.host).variables(ctx.session)


SNAKEPIT_REQUEST_KEY = "correlation_id"
"""Snakepit 0.13's Elixir client puts a correlation id into the metadata of every ExecuteTool request it sends."""


def caller_source(ctx: SessionContext) -> str:
    """``elixir`` for a request from Snakepit's Elixir client, else ``python``.

    The commands are called by Snakepit 0.13 (whose requests carry
    ``correlation_id``) but also by ``snakepit-host call`` (also ``--local``),
    Python clients such as ``SnakepitClient``, and other plugins: none of
    those is Elixir. A caller may always say who it is with a ``source``
    entry in the ``metadata`` parameter.
    """
    return "elixir" if SNAKEPIT_REQUEST_KEY in ctx.metadata else "python"


def _caller_metadata(ctx: SessionContext, metadata: dict[str, Any] | None) -> dict[str, str]:
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.setdefault("source", caller_source(ctx))
    return meta


def _describe(variable: Variable, value: Any) -> dict[str, Any]:
    return {
        "id": variable.id,
        "name": variable.name,
        "type": variable.type,
        "value": value,
        "version": variable.version,
        "constraints": dict(variable.constraints),
        "metadata": dict(variable.metadata),
        "source": variable.source,
        "created_at": variable.created_at,
        "updated_at": variable.updated_at,
    }


def _json_value(ctx: SessionContext, type_name: str, value: Any) -> Any:
    """The JSON form, also for values that would otherwise go binary (a batch has no room for bytes)."""
    data, binary = runtime_for(ctx.host).value_type(type_name).to_wire(value)
    return data if binary is None else to_jsonable(value)


def _variable_result(ctx: SessionContext, variable: Variable) -> Any:
    data, binary = runtime_for(ctx.host).value_type(variable.type).to_wire(variable.value)
    info = _describe(variable, data)
    return info if binary is None else Result(info, binary=binary)


def register_variable(ctx: SessionContext, params: dict[str, Any]) -> Any:
    p = checked("register_variable", params)
    variable = _variables(ctx).register(
        p["name"],
        p["type"],
        p.get("value"),
        constraints=p.get("constraints"),
        metadata=_caller_metadata(ctx, p.get("metadata")),
        description=p.get("description"),
    )
    return _variable_result(ctx, variable)


def get_variable(ctx: SessionContext, params: dict[str, Any]) -> Any:
    p = checked("get_variable", params)
    return _variable_result(ctx, _variables(ctx).get_variable(p["name"]))


def set_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = checked("set_variable", params)
    if "value" not in p:
        raise InvalidArgument("set_variable: missing required parameter 'value' (or binary parameter 'value')")
    version = _variables(ctx).set(
        p["name"],
        p["value"],
        expected_version=p.get("expected_version"),
        metadata=_caller_metadata(ctx, p.get("metadata")),
    )
    return {"name": p["name"], "version": version}


def get_variables(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    names = checked("get_variables", params)["names"]
    found = _variables(ctx).get_variables(names)
    return {
        "variables": {name: _json_value(ctx, v.type, v.value) for name, v in found.items()},
        "missing": [name for name in names if name not in found],
    }


def set_variables(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = checked("set_variables", params)
    atomic = p.get("atomic", True)
    try:
        versions = _variables(ctx).set_many(
            p["updates"], atomic=atomic, metadata=_caller_metadata(ctx, p.get("metadata"))
        )
    except BatchError as exc:
        if atomic:
            raise
        return {"versions": exc.versions, "errors": exc.errors}
    return {"versions": versions, "errors": {}}


def list_variables(ctx: SessionContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    pattern = checked("list_variables", params).get("pattern")
    return [_describe(v, _json_value(ctx, v.type, v.value)) for v in _variables(ctx).list(pattern)]


def delete_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    name = checked("delete_variable", params)["name"]
    _variables(ctx).delete(name)
    return {"deleted": name}


def variable_history(ctx: SessionContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    p = checked("variable_history", params)
    variables = _variables(ctx)
    type_name = variables.get_variable(p["name"]).type
    return [_history_entry(ctx, type_name, e) for e in variables.history(p["name"], limit=p.get("limit"))]


def _history_entry(ctx: SessionContext, type_name: str, entry: HistoryEntry) -> dict[str, Any]:
    return {
        "version": entry.version,
        "value": _json_value(ctx, type_name, entry.value) if entry.value_kept else None,
        "value_kept": entry.value_kept,
        "timestamp": entry.timestamp,
        "source": entry.source,
        "metadata": dict(entry.metadata),
    }


def rollback_variable(ctx: SessionContext, params: dict[str, Any]) -> Any:
    p = checked("rollback_variable", params)
    return _variable_result(ctx, _variables(ctx).rollback(p["name"], p["version"]))
