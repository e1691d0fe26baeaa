"""A stand-in for Snakepit 0.4.x's Elixir session store, for tests of this and other plugins.

:class:`ElixirVariablesStandIn` extends the host's
:class:`~snakepit_host.testing.elixir_standin.ElixirStandIn` with the variable RPCs
Elixir's BridgeServer serves (PROTOCOL.md §3.2, §5): Register, Get, Set,
GetVariables, SetVariables, List and DeleteVariable, with §5.2's semantics
(session must exist, ids ``var_<name>_<n>``, versions from 0, metadata
merging, ``expected_version`` ignored, rule failures answered INTERNAL,
unknown ids in a batch INVALID_ARGUMENT, BEAM-monotonic timestamps), and
0.4.1's answers for large embeddings: from 1 281 elements, Get, GetVariables
and List send them as ``:erlang.term_to_binary`` of the float list under a
``.binary`` type URL with its 4-key JSON description (PROTOCOL.md §4.2).
WatchVariables, history and rollback stay UNIMPLEMENTED, as in Elixir.
:meth:`ElixirVariablesStandIn.set_from_elixir` models a change made by
Elixir code::

    standin = ElixirVariablesStandIn()
    with running_host(plugin, elixir_address=standin.start()) as running: ...
"""

from __future__ import annotations

import itertools
import json
import math
import queue
import re
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.timestamp_pb2 import Timestamp

from snakepit_host import codec, pb, pb_grpc
from snakepit_host.testing.elixir_standin import ElixirStandIn

ELIXIR_SPECIAL_FLOATS = ("Infinity", "-Infinity", "NaN")
BINARY_THRESHOLD = 10_240
"""0.4.1 sends an embedding as Erlang terms when 8 bytes per element exceed this (1 281 elements and up)."""


def typed(type_name: str, value: Any) -> AnyMessage:
    """A value as Snakepit 0.4.x sends it: ``snakepit.<type>`` + JSON."""
    return AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + type_name, value=json.dumps(value).encode())


class RpcFailure:
    """The status of a failed call: ``code()`` and ``details()`` (never None)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def rpc_error(function: Callable[..., Any], *args: Any, **kwargs: Any) -> RpcFailure:
    """Call a stub method that must fail (inside a test); return how it failed."""
    import pytest

    with pytest.raises(grpc.RpcError) as caught:
        function(*args, **kwargs)
    error: Any = caught.value
    return RpcFailure(error.code(), error.details() or "")


def watch_updates(
    stub: pb_grpc.BridgeServiceStub, session_id: str, patterns: list[str], *, include_initial: bool = False
) -> tuple[Any, queue.Queue[Any]]:
    """Open WatchVariables; its updates arrive in the queue (a daemon thread reads them). Cancel the stream to end."""
    request = pb.WatchVariablesRequest(
        session_id=session_id, variable_identifiers=patterns, include_initial_values=include_initial
    )
    stream = stub.WatchVariables(request, timeout=120)
    updates: queue.Queue[Any] = queue.Queue()

    def collect() -> None:
        try:
            for update in stream:
                updates.put(update)
        except grpc.RpcError:
            pass  # cancelled, or ended with an error the test reads from the stream

    threading.Thread(target=collect, name="watch-updates", daemon=True).start()
    return stream, updates


class VariableRpcs:
    """Terse calls of the variable RPCs for one session, for tests."""

    def __init__(self, stub: pb_grpc.BridgeServiceStub, session_id: str) -> None:
        self.stub = stub
        self.session_id = session_id

    def register(self, name: str, type_name: str, value: Any, constraints: Any = None, **fields: Any) -> str:
        request = pb.RegisterVariableRequest(
            session_id=self.session_id,
            name=name,
            type=type_name,
            initial_value=typed(type_name, value),
            constraints_json=json.dumps(constraints) if constraints is not None else "",
            **fields,
        )
        return str(self.stub.RegisterVariable(request, timeout=10).variable_id)

    def get(self, identifier: str) -> pb.Variable:
        request = pb.GetVariableRequest(session_id=self.session_id, variable_identifier=identifier)
        variable: pb.Variable = self.stub.GetVariable(request, timeout=10).variable
        return variable

    def value(self, identifier: str) -> Any:
        return json.loads(self.get(identifier).value.value)

    def set(self, identifier: str, value: Any, type_name: str = "float", **fields: Any) -> int:
        request = pb.SetVariableRequest(
            session_id=self.session_id, variable_identifier=identifier, value=typed(type_name, value), **fields
        )
        return int(self.stub.SetVariable(request, timeout=10).new_version)


class RuleBroken(Exception):
    """A type or constraint rule failed; Elixir 0.4.x answers these with INTERNAL."""


class ElixirVariablesStandIn(ElixirStandIn):
    """ElixirStandIn plus the 0.4.x session-store variable RPCs."""

    def __init__(self) -> None:
        super().__init__()
        self.variables: dict[str, dict[str, pb.Variable]] = {}
        self._ids = itertools.count(1)

    def restart(self) -> None:
        with self.lock:
            self.variables.clear()
        super().restart()

    # ------------------------------------------------------------ for tests

    def set_from_elixir(self, session_id: str, name: str, value: Any) -> int:
        """Change a variable as Elixir code would; returns the new version."""
        with self.lock:
            variable = self.variables[session_id][name]
            self._update(variable, value, {"source": "elixir"})
            return int(variable.version)

    def value_of(self, session_id: str, name: str) -> Any:
        with self.lock:
            return json.loads(self.variables[session_id][name].value.value)

    # ------------------------------------------------------------ helpers

    def _table(self, session_id: str, context: grpc.ServicerContext) -> dict[str, pb.Variable]:
        if session_id not in self.sessions:
            context.abort(grpc.StatusCode.NOT_FOUND, f"session {session_id} not found")
        return self.variables.setdefault(session_id, {})

    @staticmethod
    def _find(table: dict[str, pb.Variable], identifier: str) -> pb.Variable | None:
        by_id = next((v for v in table.values() if v.id == identifier), None)
        return by_id or table.get(identifier)

    def _lookup(self, session_id: str, identifier: str, context: grpc.ServicerContext) -> pb.Variable:
        variable = self._find(self._table(session_id, context), identifier)
        if variable is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"variable {identifier} not found")
        return variable

    def _update(self, variable: pb.Variable, value: Any, metadata: dict[str, str]) -> None:
        """Validate and apply an update (caller holds the lock); RuleBroken changes nothing."""
        normalised = normalise(variable.type, value, json.loads(variable.constraints_json or "{}"))
        merged = {**variable.metadata, **metadata}
        merged["source"] = metadata.get("source", "elixir")
        merged["updated_at"] = datetime.now(timezone.utc).isoformat()
        variable.value.CopyFrom(typed(variable.type, normalised))
        variable.metadata.clear()
        variable.metadata.update(merged)
        variable.source = pb.Variable.PYTHON if merged["source"].lower() == "python" else pb.Variable.ELIXIR
        variable.version += 1
        variable.last_updated_at.CopyFrom(_monotonic_stamp())

    # ------------------------------------------------------------ RPCs

    def GetSession(self, request: pb.GetSessionRequest, context: grpc.ServicerContext) -> pb.GetSessionResponse:
        self._record("GetSession", request)
        with self.lock:
            if request.session_id not in self.sessions:
                context.abort(grpc.StatusCode.NOT_FOUND, f"session {request.session_id} not found")
            count = len(self.variables.get(request.session_id, {}))
            return pb.GetSessionResponse(
                session_id=request.session_id, metadata=self.sessions[request.session_id], tool_count=count
            )

    def RegisterVariable(
        self, request: pb.RegisterVariableRequest, context: grpc.ServicerContext
    ) -> pb.RegisterVariableResponse:
        self._record("RegisterVariable", request)
        with self.lock:
            table = self._table(request.session_id, context)
            if request.name in table:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"variable {request.name} already exists")
            try:
                constraints = json.loads(request.constraints_json or "{}")
                value = normalise(request.type, _decode(request.initial_value), constraints)
            except RuleBroken as exc:
                context.abort(grpc.StatusCode.INTERNAL, str(exc))
            except ValueError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"validation_failed: {exc}")
            metadata = {"source": "elixir", "created_by": "session_store", **request.metadata}
            variable = pb.Variable(
                id=f"var_{request.name}_{next(self._ids)}",
                name=request.name,
                type=request.type,
                value=typed(request.type, value),
                constraints_json=json.dumps(constraints),
                metadata=metadata,
                source=pb.Variable.PYTHON if metadata["source"].lower() == "python" else pb.Variable.ELIXIR,
                last_updated_at=_monotonic_stamp(),
                version=0,
            )
            table[request.name] = variable
        return pb.RegisterVariableResponse(success=True, variable_id=variable.id)

    def GetVariable(self, request: pb.GetVariableRequest, context: grpc.ServicerContext) -> pb.GetVariableResponse:
        self._record("GetVariable", request)
        with self.lock:
            variable = self._lookup(request.session_id, request.variable_identifier, context)
            return pb.GetVariableResponse(variable=as_sent(variable), from_cache=False)

    def SetVariable(self, request: pb.SetVariableRequest, context: grpc.ServicerContext) -> pb.SetVariableResponse:
        self._record("SetVariable", request)
        with self.lock:
            variable = self._lookup(request.session_id, request.variable_identifier, context)
            try:
                self._update(variable, _decode(request.value), dict(request.metadata))
            except RuleBroken as exc:
                context.abort(grpc.StatusCode.INTERNAL, str(exc))
            except ValueError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"validation_failed: {exc}")
            return pb.SetVariableResponse(success=True, new_version=variable.version)

    def GetVariables(
        self, request: pb.BatchGetVariablesRequest, context: grpc.ServicerContext
    ) -> pb.BatchGetVariablesResponse:
        self._record("GetVariables", request)
        with self.lock:
            table = self._table(request.session_id, context)
            response = pb.BatchGetVariablesResponse()
            for identifier in request.variable_identifiers:
                variable = self._find(table, identifier)
                if variable is None:
                    response.missing_variables.append(identifier)
                else:
                    response.variables[identifier].CopyFrom(as_sent(variable))
            return response

    def SetVariables(
        self, request: pb.BatchSetVariablesRequest, context: grpc.ServicerContext
    ) -> pb.BatchSetVariablesResponse:
        self._record("SetVariables", request)
        with self.lock:
            table = self._table(request.session_id, context)
            targets = {identifier: self._find(table, identifier) for identifier in request.updates}
            unknown = [identifier for identifier, variable in targets.items() if variable is None]
            if unknown:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"variables not found: {', '.join(unknown)}")
            errors: dict[str, str] = {}
            checked: dict[str, Any] = {}
            for identifier, variable in targets.items():
                assert variable is not None
                try:
                    value = _decode(request.updates[identifier])
                    normalise(variable.type, value, json.loads(variable.constraints_json or "{}"))
                    checked[identifier] = value
                except (RuleBroken, ValueError) as exc:
                    errors[identifier] = str(exc)
            response = pb.BatchSetVariablesResponse(success=not errors, errors=errors)
            if errors and request.atomic:
                return response
            for identifier, value in checked.items():
                variable = targets[identifier]
                assert variable is not None
                self._update(variable, value, dict(request.metadata))
                response.new_versions[identifier] = variable.version
            return response

    def ListVariables(
        self, request: pb.ListVariablesRequest, context: grpc.ServicerContext
    ) -> pb.ListVariablesResponse:
        self._record("ListVariables", request)
        with self.lock:
            table = self._table(request.session_id, context)
            regex = re.compile(request.pattern.replace("*", ".*")) if request.pattern else None
            found = [v for v in table.values() if regex is None or regex.search(v.name)]
            return pb.ListVariablesResponse(variables=[as_sent(v) for v in found])

    def DeleteVariable(
        self, request: pb.DeleteVariableRequest, context: grpc.ServicerContext
    ) -> pb.DeleteVariableResponse:
        self._record("DeleteVariable", request)
        with self.lock:
            variable = self._lookup(request.session_id, request.variable_identifier, context)
            del self.variables[request.session_id][variable.name]
        return pb.DeleteVariableResponse(success=True)


def erlang_float_list(values: list[float]) -> bytes:
    """``:erlang.term_to_binary(values)`` for a non-empty list of floats, as Elixir writes it (no options)."""
    floats = b"".join(b"F" + struct.pack(">d", value) for value in values)
    return b"\x83l" + struct.pack(">I", len(values)) + floats + b"j"


def as_sent(variable: pb.Variable) -> pb.Variable:
    """A stored variable as 0.4.1's ``encode_variable`` sends it: large embeddings as Erlang terms."""
    if variable.type != "embedding":
        return variable
    values = json.loads(variable.value.value)
    if len(values) * 8 <= BINARY_THRESHOLD or not all(isinstance(v, float) for v in values):
        return variable
    meta = {"binary_format": "erlang_binary", "dtype": "float32", "shape": [len(values)], "type": "embedding"}
    sent = pb.Variable()
    sent.CopyFrom(variable)
    sent.value.CopyFrom(
        AnyMessage(
            type_url=codec.SNAKEPIT_URL_PREFIX + "embedding.binary",
            value=json.dumps(meta, separators=(",", ":")).encode(),
        )
    )
    sent.binary_value = erlang_float_list(values)
    return sent


def _decode(message: AnyMessage) -> Any:
    if message.type_url.endswith(".binary"):
        raise ValueError("binary values are Erlang terms here; Python's bytes cannot be read")
    return json.loads(message.value) if message.value else None


def _monotonic_stamp() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(time.monotonic() * 1e9))
    return stamp


def _bounds(value: float, constraints: dict[str, Any]) -> None:
    if "min" in constraints and value < constraints["min"]:
        raise RuleBroken(f"value {value} is below minimum {constraints['min']}")
    if "max" in constraints and value > constraints["max"]:
        raise RuleBroken(f"value {value} is above maximum {constraints['max']}")


def normalise(type_name: str, value: Any, constraints: dict[str, Any]) -> Any:
    """Elixir 0.4.x's type rules (``lib/snakepit/bridge/variables/types/*.ex``), in brief."""
    if type_name == "float":
        if value in ELIXIR_SPECIAL_FLOATS:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleBroken(f"expected a number, got: {value!r}")
        _bounds(float(value), constraints)
        return float(value)
    if type_name == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleBroken(f"expected an integer, got: {value!r}")
        _bounds(value, constraints)
        return value
    if type_name in ("string", "choice", "module"):
        if not isinstance(value, str):
            raise RuleBroken(f"expected a string, got: {value!r}")
        _string_rules(value, constraints)
        return value
    if type_name == "boolean":
        if value in (True, False, "true", "false", 1, 0):
            return value in (True, "true", 1)
        raise RuleBroken(f"expected a boolean, got: {value!r}")
    if type_name == "embedding":
        if not isinstance(value, list) or not all(
            isinstance(x, (int, float)) or x in ELIXIR_SPECIAL_FLOATS for x in value
        ):
            raise RuleBroken("embedding must be a list of numbers")
        if "dimensions" in constraints and len(value) != constraints["dimensions"]:
            raise RuleBroken(f"embedding must have {constraints['dimensions']} dimensions, got {len(value)}")
        return [float(x) if isinstance(x, (int, float)) else x for x in value]
    if type_name == "tensor":
        if not isinstance(value, dict) or "shape" not in value or "data" not in value:
            raise RuleBroken("tensor must be a map with shape and data")
        if math.prod(value["shape"]) != len(_flatten(value["data"])):
            raise RuleBroken("tensor data does not match its shape")
        if "shape" in constraints and constraints["shape"] != value["shape"]:
            raise RuleBroken(f"tensor shape must be {constraints['shape']}")
        return value
    raise ValueError(f"unknown type {type_name}")


def _string_rules(value: str, constraints: dict[str, Any]) -> None:
    if "min_length" in constraints and len(value) < constraints["min_length"]:
        raise RuleBroken(f"string is shorter than {constraints['min_length']}")
    if "max_length" in constraints and len(value) > constraints["max_length"]:
        raise RuleBroken(f"string is longer than {constraints['max_length']}")
    if "pattern" in constraints:
        try:
            matched = re.search(constraints["pattern"], value) is not None
        except re.error:
            matched = constraints["pattern"] in value  # Elixir treats an uncompilable pattern literally
        if not matched:
            raise RuleBroken(f"string does not match pattern {constraints['pattern']}")
    for key in ("enum", "choices", "allowed_modules"):
        if constraints.get(key) and value not in constraints[key]:
            raise RuleBroken(f"value {value} is not one of {constraints[key]}")


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [x for item in data for x in _flatten(item)]
    return [data]
