"""The 0.4.x variable RPCs of BridgeService, served from the session's variables.

Status codes follow PROTOCOL.md §5.2: unknown session or variable is
NOT_FOUND, a value or constraint that breaks a rule INVALID_ARGUMENT (where
Elixir said INTERNAL), a stale ``expected_version`` ABORTED. RegisterVariable
creates the session on first use; the others need an existing session.
SetVariables reports per-variable validation failures in its ``errors``
map with ``success=false``, as Snakepit does.

Proto3 cannot tell ``expected_version=0`` from "not given", so 0 means no
check; to require version 0, put ``expected_version`` in the metadata.
SetVariables has no field for it and one number cannot guard several
variables, so ``expected_version`` in its metadata is refused, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host import InvalidArgument, Unimplemented, pb
from snakepit_variables import binary_forms, wire
from snakepit_variables.host_state import runtime_for
from snakepit_variables.session_variables import BatchError, SessionVariables, check_variable_name, named

if TYPE_CHECKING:
    from snakepit_host import RpcCall
    from snakepit_variables.model import Variable

EXPECTED_VERSION_KEY = "expected_version"


def _variables(call: RpcCall, session_id: str, *, create: bool = False) -> SessionVariables:
    return runtime_for(call.host).variables_for(session_id, create=create)


def _message(call: RpcCall, variable: Variable) -> pb.Variable:
    return wire.variable_message(variable, runtime_for(call.host).value_type(variable.type))


def caller_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Request metadata; a caller of these RPCs is the Elixir side unless it says otherwise."""
    meta = {k: v for k, v in metadata.items() if k != EXPECTED_VERSION_KEY}
    meta.setdefault("source", "elixir")
    binary_forms.check_reply_format(meta)
    return meta


def _expected_version(request: pb.SetVariableRequest) -> int | None:
    text = request.metadata.get(EXPECTED_VERSION_KEY)
    if text is not None:
        try:
            return int(text)
        except ValueError:
            raise InvalidArgument(f"metadata expected_version must be an integer, got {text!r}") from None
    return request.expected_version if request.expected_version > 0 else None


def register_variable(request: pb.RegisterVariableRequest, call: RpcCall) -> pb.RegisterVariableResponse:
    name = check_variable_name(request.name)
    value_type = named(name, runtime_for(call.host).value_type, request.type)
    constraints = named(name, wire.constraints_from_json, request.constraints_json)
    value = named(name, wire.decode_value, request.initial_value, request.initial_binary_value, value_type)
    metadata = named(name, caller_metadata, request.metadata)
    variables = _variables(call, request.session_id, create=True)  # only once the request is known to be sound
    variable = variables.register(name, request.type, value, constraints=constraints, metadata=metadata)
    return pb.RegisterVariableResponse(success=True, variable_id=variable.id)


def get_variable(request: pb.GetVariableRequest, call: RpcCall) -> pb.GetVariableResponse:
    variables = _variables(call, request.session_id)
    variable = variables.get_variable(request.variable_identifier, fresh=request.bypass_cache)
    return pb.GetVariableResponse(variable=_message(call, variable))


def set_variable(request: pb.SetVariableRequest, call: RpcCall) -> pb.SetVariableResponse:
    variables = _variables(call, request.session_id)
    variable = variables.get_variable(request.variable_identifier)
    value_type = runtime_for(call.host).value_type(variable.type)
    value = named(variable.name, wire.decode_value, request.value, request.binary_value, value_type)
    version = variables.set(
        variable.id,
        value,
        expected_version=_expected_version(request),
        metadata=caller_metadata(request.metadata),
    )
    return pb.SetVariableResponse(success=True, new_version=version)


def get_variables(request: pb.BatchGetVariablesRequest, call: RpcCall) -> pb.BatchGetVariablesResponse:
    variables = _variables(call, request.session_id)
    identifiers = list(request.variable_identifiers)
    found = variables.get_variables(identifiers, fresh=request.bypass_cache)
    response = pb.BatchGetVariablesResponse(missing_variables=[i for i in identifiers if i not in found])
    for identifier, variable in found.items():
        response.variables[identifier].CopyFrom(_message(call, variable))
    return response


def set_variables(request: pb.BatchSetVariablesRequest, call: RpcCall) -> pb.BatchSetVariablesResponse:
    if EXPECTED_VERSION_KEY in request.metadata:
        raise InvalidArgument(
            "SetVariables: metadata expected_version is not supported for a batch (nothing was changed); "
            "use SetVariable for each variable that needs a version check"
        )
    variables = _variables(call, request.session_id)
    identifiers = list(dict.fromkeys([*request.updates.keys(), *request.binary_updates.keys()]))
    current = variables.get_variables(identifiers)
    unknown = [i for i in identifiers if i not in current]
    if unknown:
        raise InvalidArgument(f"unknown variables in session '{request.session_id}': {', '.join(unknown)}")
    runtime = runtime_for(call.host)
    values = {}
    errors: dict[str, str] = {}
    for identifier, variable in current.items():
        value = request.updates[identifier] if identifier in request.updates else AnyMessage()
        binary = request.binary_updates.get(identifier, b"")
        try:
            values[identifier] = named(
                variable.name, wire.decode_value, value, binary, runtime.value_type(variable.type)
            )
        except InvalidArgument as exc:
            errors[identifier] = str(exc)
    versions: dict[str, int] = {}
    if not (errors and request.atomic):
        try:
            versions = variables.set_many(values, atomic=request.atomic, metadata=caller_metadata(request.metadata))
        except BatchError as exc:
            errors.update(exc.errors)
            versions = exc.versions
    return pb.BatchSetVariablesResponse(success=not errors, errors=errors, new_versions=versions)


def list_variables(request: pb.ListVariablesRequest, call: RpcCall) -> pb.ListVariablesResponse:
    variables = _variables(call, request.session_id)
    return pb.ListVariablesResponse(variables=[_message(call, v) for v in variables.list(request.pattern or None)])


def delete_variable(request: pb.DeleteVariableRequest, call: RpcCall) -> pb.DeleteVariableResponse:
    _variables(call, request.session_id).delete(request.variable_identifier)
    return pb.DeleteVariableResponse(success=True)


def watch_variables(request: pb.WatchVariablesRequest, call: RpcCall) -> Iterator[pb.VariableUpdate]:
    """Stream changes until the client cancels or the session closes; no thread is left behind."""
    variables = _variables(call, request.session_id)
    watch = variables.watch(list(request.variable_identifiers), include_initial=request.include_initial_values)
    call.add_done_callback(watch.close)
    if not call.is_active():  # cancelled before the callback was in place
        watch.close()
    runtime = runtime_for(call.host)

    def updates() -> Iterator[pb.VariableUpdate]:
        with watch:
            for event in watch:
                yield wire.update_message(event, runtime.value_type(event.variable.type))

    return updates()


def get_variable_history(request: pb.GetVariableHistoryRequest, call: RpcCall) -> pb.GetVariableHistoryResponse:
    variables = _variables(call, request.session_id)
    variable = variables.get_variable(request.variable_identifier)
    value_type = runtime_for(call.host).value_type(variable.type)
    entries = variables.history(variable.id, limit=request.limit or None)
    return pb.GetVariableHistoryResponse(
        entries=[wire.history_message(entry, variable.type, value_type) for entry in entries]
    )


def rollback_variable(request: pb.RollbackVariableRequest, call: RpcCall) -> pb.RollbackVariableResponse:
    variables = _variables(call, request.session_id)
    variable = variables.rollback(request.variable_identifier, request.target_version)
    return pb.RollbackVariableResponse(success=True, variable=_message(call, variable))


def unsupported(request: object, call: RpcCall) -> None:
    raise Unimplemented(
        f"{call.method} is not supported by snakepit-variables (Snakepit 0.4.1's Elixir side has no handler for it)"
    )


HANDLERS = {
    "RegisterVariable": register_variable,
    "GetVariable": get_variable,
    "SetVariable": set_variable,
    "GetVariables": get_variables,
    "SetVariables": set_variables,
    "ListVariables": list_variables,
    "DeleteVariable": delete_variable,
    "WatchVariables": watch_variables,
    "GetVariableHistory": get_variable_history,
    "RollbackVariable": rollback_variable,
    "AddDependency": unsupported,
    "StartOptimization": unsupported,
    "StopOptimization": unsupported,
}
