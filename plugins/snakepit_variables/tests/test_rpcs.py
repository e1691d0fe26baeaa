"""The variable RPCs over a real server: every type round-trips, versions, batches, history, binary arrays."""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from snakepit_variables import variables_for
from snakepit_variables.testing import VariableRpcs, rpc_error, typed

from snakepit_host import codec
from snakepit_host.codec import TypedBuffer, pack_binary, unpack_binary
from snakepit_host.proto import snakepit_bridge_pb2 as pb

SESSION = "s1"

ROUND_TRIPS: list[tuple[str, Any, Any]] = [
    ("float", 1, 1.0),
    ("float", "Infinity", "Infinity"),
    ("float", "NaN", "NaN"),
    ("integer", 3.0, 3),
    ("integer", "42", 42),
    ("string", "héllo", "héllo"),
    ("string", '{"looks": "like json"}', '{"looks": "like json"}'),
    ("boolean", "TRUE", True),
    ("boolean", 0, False),
    ("choice", "b", "b"),
    ("module", "dspy.ChainOfThought", "dspy.ChainOfThought"),
    ("embedding", [1, 2.5], [1.0, 2.5]),
    ("tensor", {"shape": [2, 1], "data": [[1.5], [2]]}, {"shape": [2, 1], "data": [1.5, 2.0], "dtype": "float64"}),
    ("list", [1, "a", None], [1, "a", None]),
    ("dict", {"a": {"b": [1]}}, {"a": {"b": [1]}}),
    ("map", {"k": 1}, {"k": 1}),
    ("json", None, None),
    ("json", [{"x": 1.5}], [{"x": 1.5}]),
]


@pytest.mark.parametrize(("type_name", "sent", "stored"), ROUND_TRIPS)
def test_every_type_round_trips(variables: VariableRpcs, type_name: str, sent: Any, stored: Any) -> None:
    variable_id = variables.register("v", type_name, sent)
    message = variables.get(variable_id)
    assert (message.id, message.name, message.type, message.version) == (variable_id, "v", type_name, 0)
    assert message.value.type_url == codec.SNAKEPIT_URL_PREFIX + type_name
    assert json.loads(message.value.value) == stored
    assert variables.set("v", sent, type_name) == 1


def test_maps_double_encoded_by_0_4_are_unwrapped(stub: Any, variables: VariableRpcs) -> None:
    variables.register("config", "dict", {"a": 1})
    request = pb.SetVariableRequest(
        session_id=SESSION, variable_identifier="config", value=typed("string", json.dumps({"a": 2}))
    )
    stub.SetVariable(request)
    assert variables.value("config") == {"a": 2}


def test_get_and_set_many_keep_request_order_and_report_missing(stub: Any, variables: VariableRpcs) -> None:
    first = variables.register("a", "integer", 1)
    variables.register("b", "string", "x")
    response = stub.GetVariables(
        pb.BatchGetVariablesRequest(session_id=SESSION, variable_identifiers=["zz", first, "b", "yy"])
    )
    assert set(response.variables) == {first, "b"}
    assert list(response.missing_variables) == ["zz", "yy"]
    response = stub.SetVariables(
        pb.BatchSetVariablesRequest(
            session_id=SESSION, updates={"a": typed("integer", 2), "b": typed("string", "y")}, atomic=True
        )
    )
    assert response.success and response.new_versions == {"a": 1, "b": 1}
    assert variables.value("a") == 2 and variables.value("b") == "y"


def test_an_empty_batch_in_a_session_without_variables_changes_nothing(running: Any, stub: Any) -> None:
    running.client().call("ping", session_id="empty")  # the session exists, with no variables yet
    for atomic in (True, False):
        response = stub.SetVariables(pb.BatchSetVariablesRequest(session_id="empty", atomic=atomic))
        assert response.success and not response.new_versions and not response.errors


def test_list_uses_snakepits_pattern_rule(stub: Any, variables: VariableRpcs) -> None:
    for name in ("temperature", "top_p", "max_tokens", "temp.x"):
        variables.register(name, "float", 0.5)

    def names(pattern: str) -> list[str]:
        request = pb.ListVariablesRequest(session_id=SESSION, pattern=pattern)
        return [v.name for v in stub.ListVariables(request).variables]

    assert names("") == ["max_tokens", "temp.x", "temperature", "top_p"]
    assert names("temp") == ["temp.x", "temperature"]
    assert names("t*p") == ["temp.x", "temperature", "top_p"]
    assert names("top.p") == []  # '.' is literal, not any character


def test_delete_then_the_name_can_be_registered_again(stub: Any, variables: VariableRpcs) -> None:
    old_id = variables.register("x", "float", 1.0)
    assert stub.DeleteVariable(pb.DeleteVariableRequest(session_id=SESSION, variable_identifier=old_id)).success
    assert rpc_error(variables.get, "x").code() == grpc.StatusCode.NOT_FOUND
    new_id = variables.register("x", "string", "again")
    assert new_id != old_id and variables.get("x").version == 0


def test_metadata_source_and_times(variables: VariableRpcs) -> None:
    variables.register("x", "float", 1.0, metadata={"owner": "tests", "source": "python"})
    message = variables.get("x")
    assert message.source == pb.Variable.PYTHON and message.metadata["owner"] == "tests"
    variables.set("x", 2.0, metadata={"note": "second"})
    message = variables.get("x")
    assert message.source == pb.Variable.ELIXIR  # an RPC caller is the Elixir side unless it says otherwise
    assert message.metadata["owner"] == "tests" and message.metadata["note"] == "second"
    assert message.last_updated_at.seconds > 1_600_000_000


def test_history_and_rollback(stub: Any, variables: VariableRpcs) -> None:
    variables.register("x", "integer", 10)
    for value in (11, 12, 13):
        variables.set("x", value, "integer")
    history = stub.GetVariableHistory(pb.GetVariableHistoryRequest(session_id=SESSION, variable_identifier="x"))
    assert [(e.version, json.loads(e.value.value)) for e in history.entries] == [(0, 10), (1, 11), (2, 12), (3, 13)]
    limited = stub.GetVariableHistory(
        pb.GetVariableHistoryRequest(session_id=SESSION, variable_identifier="x", limit=2)
    )
    assert [e.version for e in limited.entries] == [2, 3]

    response = stub.RollbackVariable(
        pb.RollbackVariableRequest(session_id=SESSION, variable_identifier="x", target_version=1)
    )
    assert response.success and response.variable.version == 4 and json.loads(response.variable.value.value) == 11
    error = rpc_error(
        stub.RollbackVariable,
        pb.RollbackVariableRequest(session_id=SESSION, variable_identifier="x", target_version=99),
    )
    assert (
        error.code() == grpc.StatusCode.NOT_FOUND
        and "version 99 is not in history (kept: 0, 1, 2, 3, 4)" in error.details()
    )


def test_large_tensor_travels_as_spkb_binary_and_is_stored_once(
    running: Any, stub: Any, variables: VariableRpcs
) -> None:
    array = np.arange(64 * 1024, dtype=np.float32).reshape(256, 256)
    payload = pack_binary(TypedBuffer.from_array(array))
    meta = {"shape": [256, 256], "dtype": "float32", "binary_format": "spkb", "type": "tensor"}
    request = pb.RegisterVariableRequest(
        session_id=SESSION,
        name="weights",
        type="tensor",
        initial_value=AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + "tensor.binary", value=json.dumps(meta).encode()),
        initial_binary_value=payload,
        constraints_json=json.dumps({"shape": [256, None], "dtype": "float32"}),
    )
    stub.RegisterVariable(request)

    message = variables.get("weights")
    assert message.value.type_url.endswith("snakepit.tensor.binary")
    assert json.loads(message.value.value)["binary_format"] == "spkb"
    received = unpack_binary(message.binary_value)
    assert isinstance(received, TypedBuffer)
    assert np.array_equal(received.to_numpy(), array)

    session_variables = variables_for(running.host, SESSION, create=False)
    first, second = session_variables.get("weights"), session_variables.get("weights")
    assert first is second and not first.flags.writeable  # one read-only array for every reader


def test_small_embedding_stays_json(variables: VariableRpcs) -> None:
    variables.register("e", "embedding", [0.5] * 8)
    message = variables.get("e")
    assert not message.binary_value and json.loads(message.value.value) == [0.5] * 8


def test_non_finite_floats_use_snakepits_strings(variables: VariableRpcs) -> None:
    variables.register("x", "float", "-Infinity")
    assert variables.value("x") == "-Infinity"
    variables.set("x", "nan")
    assert variables.value("x") == "NaN"


def test_register_creates_the_session(running: Any, variables: VariableRpcs) -> None:
    variables.register("x", "float", 1.0)
    assert running.host.sessions.get(SESSION) is not None


def test_unsupported_0_4_rpcs_say_so(stub: Any) -> None:
    error = rpc_error(stub.AddDependency, pb.AddDependencyRequest(session_id=SESSION))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and "not supported by snakepit-variables" in error.details()


def test_status_and_types_are_described(running: Any) -> None:
    client = running.client()
    unused = client.call("describe", {})["status"]["variables"]
    assert unused == {"store": None, "requested": "auto"}  # chosen on first use, never at start-up
    client.call("list_variables", {}, session_id=SESSION)
    description = client.call("describe", {})
    assert description["status"]["variables"]["store"] == "memory"
    types = {t["name"]: t for t in description["types"]}
    assert set(types) >= {"float", "integer", "string", "boolean", "choice", "module", "embedding", "tensor"}
    assert set(types) >= {"list", "dict", "map", "json"}
    assert types["float"]["constraints"]["properties"]["max"]["type"] == "number"
    assert types["float"]["owner"] == ["snakepit_variables", "plugin"][-1]
    assert math.isclose(description["status"]["variables"]["cache_ttl_seconds"], 1.0)
