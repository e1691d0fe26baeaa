"""The variable operations as commands, for callers that only have ExecuteTool (Snakepit 0.13).

The host checks every call against the schemas in :mod:`snakepit_variables.catalog`
(names, required keys, JSON kinds, ranges) before a handler runs, so the
handlers only read. A large array result comes back as the binary result
with its description as the value; a large array argument may come as the
binary parameter ``value``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_host import Result, codec
from snakepit_variables import binary_forms, wire
from snakepit_variables.host_state import runtime_for
from snakepit_variables.session_variables import BatchError

if TYPE_CHECKING:
    from snakepit_host import SessionContext
    from snakepit_variables.model import HistoryEntry, Variable
    from snakepit_variables.session_variables import SessionVariables


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
    binary_forms.check_reply_format(meta)
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
    return data if binary is None else codec.to_jsonable(value)


def _variable_result(ctx: SessionContext, variable: Variable) -> Any:
    value_type = runtime_for(ctx.host).value_type(variable.type)
    data, binary = wire.value_form(value_type, variable.value, binary_forms.reply_format(variable.metadata))
    info = _describe(variable, data)
    return info if binary is None else Result(info, binary=binary)


def register_variable(ctx: SessionContext, params: dict[str, Any]) -> Any:
    variable = _variables(ctx).register(
        params["name"],
        params["type"],
        params.get("value", params.get("initial_value")),  # the schema refuses both at once
        constraints=params.get("constraints"),
        metadata=_caller_metadata(ctx, params.get("metadata")),
        description=params.get("description"),
    )
    return _variable_result(ctx, variable)


def get_variable(ctx: SessionContext, params: dict[str, Any]) -> Any:
    return _variable_result(ctx, _variables(ctx).get_variable(params["name"]))


def set_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    version = _variables(ctx).set(
        params["name"],
        params["value"],
        expected_version=params.get("expected_version"),
        metadata=_caller_metadata(ctx, params.get("metadata")),
    )
    return {"name": params["name"], "version": version}


def get_variables(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    names = params["names"]
    found = _variables(ctx).get_variables(names)
    return {
        "variables": {name: _json_value(ctx, v.type, v.value) for name, v in found.items()},
        "missing": [name for name in names if name not in found],
    }


def set_variables(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    atomic = params.get("atomic", True)
    try:
        versions = _variables(ctx).set_many(
            params["updates"], atomic=atomic, metadata=_caller_metadata(ctx, params.get("metadata"))
        )
    except BatchError as exc:
        if atomic:
            raise
        return {"versions": exc.versions, "errors": exc.errors}
    return {"versions": versions, "errors": {}}


def list_variables(ctx: SessionContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    pattern = params.get("pattern")
    return [_describe(v, _json_value(ctx, v.type, v.value)) for v in _variables(ctx).list(pattern)]


def delete_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    _variables(ctx).delete(name)
    return {"deleted": name}


def variable_history(ctx: SessionContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    variables = _variables(ctx)
    type_name = variables.get_variable(params["name"]).type
    return [_history_entry(ctx, type_name, e) for e in variables.history(params["name"], limit=params.get("limit"))]


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
    return _variable_result(ctx, _variables(ctx).rollback(params["name"], params["version"]))
