"""Every bad input of issue 3 over a real server: a clear error, the right status, nothing half-written."""

from __future__ import annotations

import json
import pickle
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from snakepit_variables.testing import VariableRpcs as Variables
from snakepit_variables.testing import rpc_error, typed

from snakepit_host import codec
from snakepit_host.codec import TypedBuffer, pack_binary
from snakepit_host.proto import snakepit_bridge_pb2 as pb

SESSION = "s1"
INVALID = grpc.StatusCode.INVALID_ARGUMENT

# (type, constraints, a valid value, a value breaking the rule, what the message must say)
RULES: list[tuple[str, dict[str, Any], Any, Any, str]] = [
    ("float", {"min": 0, "max": 1}, 0.5, 1.7, "1.7 is above max 1.0"),
    ("float", {"min": 0, "max": 1}, 0.5, -0.1, "-0.1 is below min 0.0"),
    ("integer", {"min_value": 1, "max_value": 10}, 5, 11, "11 is above max_value 10"),
    ("integer", {"min_value": 1}, 5, 0, "0 is below min_value 1"),
    ("float", {"range": [0, 1]}, 0.5, 2.5, "2.5 is outside range [0.0, 1.0]"),
    ("string", {"min_length": 3}, "abcd", "ab", "length 2 is below min_length 3"),
    ("string", {"max_length": 5}, "abc", "abcdef", "length 6 is above max_length 5"),
    ("string", {"pattern": "^[a-z]+$"}, "abc", "ABC", "'ABC' does not match pattern '^[a-z]+$'"),
    ("string", {"enum": ["a", "b"]}, "a", "c", "'c' is not one of enum ['a', 'b']"),
    ("choice", {"choices": ["x", "y"]}, "x", "z", "'z' is not one of choices ['x', 'y']"),
    ("module", {"allowed_modules": ["Predict"]}, "Predict", "ChainOfThought", "is not one of allowed_modules"),
    ("embedding", {"dimensions": 3}, [1, 0, 0], [1, 0], "embedding has 2 dimensions; dimensions requires 3"),
    (
        "tensor",
        {"shape": [2, 2]},
        {"shape": [2, 2], "data": [1, 2, 3, 4]},
        {"shape": [4], "data": [1, 2, 3, 4]},
        "tensor shape [4] does not match shape [2, 2]",
    ),
    (
        "tensor",
        {"dtype": "int32"},
        {"shape": [2], "data": [1, 2]},
        {"shape": [2], "data": [1.5, 2]},
        "does not convert to dtype int32 without loss",
    ),
    ("embedding", {"min_value": 0}, [0.1, 0.2], [0.1, -0.2], "embedding element 1 (-0.2) is below min_value 0"),
    ("embedding", {"max_value": 1}, [0.1, 0.2], [0.1, 1.5], "embedding element 1 (1.5) is above max_value 1"),
    ("tensor", {"range": [0, 1]}, {"shape": [1], "data": [0.5]}, {"shape": [1], "data": [3.0]}, "outside range"),
    ("embedding", {"norm": "l2"}, [0.6, 0.8], [1.0, 1.0], "embedding length is 1.41421; norm l2 requires 1"),
    ("embedding", {"norm": "l1"}, [0.5, 0.5], [1.0, 1.0], "sum of |x| is 2; norm l1 requires 1"),
    ("embedding", {"dtype": "float16"}, [0.5], [0.1], "does not convert to dtype float16 without loss"),
]

# (type, a valid value, a value that does not convert losslessly, what the message must say)
NOT_CONVERTIBLE: list[tuple[str, Any, Any, str]] = [
    ("integer", 1, 1.5, "1.5 is not a whole number"),
    ("integer", 1, "twelve", "'twelve' is not a number"),
    ("float", 1.0, "abc", "'abc' is not a number"),
    ("float", 1.0, 2**53 + 1, "cannot be represented exactly as a float"),
    ("boolean", True, "maybe", "expected a boolean, got str 'maybe'"),
    ("string", "a", 5, "expected a string, got int 5"),
    ("module", "dspy.Predict", "not a module!", "is not a dotted module or class name"),
    ("embedding", [1.0], [1.0, "x"], "embedding element 1 is str 'x', not a number"),
    ("tensor", {"shape": [1], "data": [1]}, {"shape": [2, 2], "data": [1, 2, 3]}, "has 3 elements but shape [2, 2]"),
    ("dict", {"a": 1}, [1, 2], "expected an object, got list"),
    ("list", [1], {"a": 1}, "expected a list, got dict"),
]


def _assert_unchanged(variables: Variables, name: str, before: pb.Variable) -> None:
    after = variables.get(name)
    assert after.version == before.version
    assert after.value == before.value
    assert after.binary_value == before.binary_value


@pytest.mark.parametrize(("type_name", "constraints", "good", "bad", "message"), RULES)
def test_each_constraint_is_enforced_on_write_and_registration(
    variables: Variables, type_name: str, constraints: dict[str, Any], good: Any, bad: Any, message: str
) -> None:
    variables.register("v", type_name, good, constraints)
    before = variables.get("v")

    error = rpc_error(variables.set, "v", bad, type_name)
    assert error.code() == INVALID
    assert error.details().startswith("v: ")
    assert message in error.details()
    _assert_unchanged(variables, "v", before)

    error = rpc_error(variables.register, "w", type_name, bad, constraints)
    assert error.code() == INVALID and message in error.details() and error.details().startswith("w: ")
    assert rpc_error(variables.get, "w").code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("type_name", "good", "bad", "message"), NOT_CONVERTIBLE)
def test_values_that_do_not_convert_are_refused(
    variables: Variables, type_name: str, good: Any, bad: Any, message: str
) -> None:
    variables.register("v", type_name, good)
    before = variables.get("v")
    error = rpc_error(variables.set, "v", bad, type_name)
    assert error.code() == INVALID and message in error.details(), error.details()
    _assert_unchanged(variables, "v", before)


def test_the_temperature_example_reads_as_the_issue_says(variables: Variables) -> None:
    variables.register("temperature", "float", 0.7, {"min": 0.0, "max": 1.0})
    assert rpc_error(variables.set, "temperature", 1.7).details() == "temperature: 1.7 is above max 1.0"


@pytest.mark.parametrize(
    ("constraints_json", "message"),
    [
        ("{min: 0", "constraints_json is not valid JSON"),
        ("[1, 2]", "constraints_json must be a JSON object, got list"),
        ('{"maximum": 1}', "constraint 'maximum' is not valid for type float (accepted: min, max, min_value"),
        ('{"min": "zero"}', "constraint 'min' must be a number, got 'zero'"),
        ('{"min": 2, "max": 1}', "constraint 'min' 2 is above 'max' 1"),
        ('{"range": [1]}', "constraint 'range' must be [low, high]"),
    ],
)
def test_malformed_constraints_are_refused_at_registration(stub: Any, constraints_json: str, message: str) -> None:
    request = pb.RegisterVariableRequest(
        session_id=SESSION, name="x", type="float", initial_value=typed("float", 0.5), constraints_json=constraints_json
    )
    error = rpc_error(stub.RegisterVariable, request)
    assert error.code() == INVALID
    assert error.details().startswith("x: ") and message in error.details(), error.details()


@pytest.mark.parametrize(
    ("type_name", "constraints", "message"),
    [
        ("string", {"pattern": "("}, "constraint 'pattern' is not a valid regular expression"),
        ("embedding", {"dimensions": 0}, "constraint 'dimensions' must be a positive integer"),
        ("embedding", {"norm": "l3"}, "constraint 'norm' must be one of l1, l2, unit"),
        ("tensor", {"dtype": "float128"}, "constraint 'dtype' must be one of"),
        ("tensor", {"shape": [2, "x"]}, "constraint 'shape' must be a list of dimension sizes"),
        ("choice", {"choices": "a,b"}, "constraint 'choices' must be a list of strings"),
        ("boolean", {"min": 1}, "constraint 'min' is not valid for type boolean (accepted: none)"),
    ],
)
def test_malformed_constraint_values_name_the_key(
    variables: Variables, type_name: str, constraints: dict[str, Any], message: str
) -> None:
    value = {"string": "a", "embedding": [1.0], "tensor": {"shape": [1], "data": [1]}, "choice": "a"}.get(
        type_name, True
    )
    error = rpc_error(variables.register, "x", type_name, value, constraints)
    assert error.code() == INVALID and message in error.details(), error.details()


def test_unknown_type_is_refused_with_the_known_ones(variables: Variables) -> None:
    error = rpc_error(variables.register, "x", "flaot", 1.0)
    assert error.code() == INVALID
    assert "x: unknown type 'flaot' (known: boolean, choice, dict, embedding, float," in error.details()


def test_bad_variable_names_are_refused(variables: Variables) -> None:
    for name in ("", "1abc", "a*b", "x" * 200):
        error = rpc_error(variables.register, name, "float", 1.0)
        assert error.code() == INVALID and "variable name" in error.details()


def test_unknown_variable_is_not_found_everywhere(stub: Any, variables: Variables) -> None:
    variables.register("known", "float", 1.0)  # the session exists
    calls = [
        (stub.GetVariable, pb.GetVariableRequest(session_id=SESSION, variable_identifier="nope")),
        (
            stub.SetVariable,
            pb.SetVariableRequest(session_id=SESSION, variable_identifier="nope", value=typed("float", 1)),
        ),
        (stub.DeleteVariable, pb.DeleteVariableRequest(session_id=SESSION, variable_identifier="nope")),
        (stub.GetVariableHistory, pb.GetVariableHistoryRequest(session_id=SESSION, variable_identifier="nope")),
        (stub.RollbackVariable, pb.RollbackVariableRequest(session_id=SESSION, variable_identifier="nope")),
    ]
    for method, request in calls:
        error = rpc_error(method, request)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert "unknown variable 'nope' in session 's1'" in error.details()


def test_unknown_session_is_not_found_and_not_created(stub: Any) -> None:
    calls = [
        (stub.GetVariable, pb.GetVariableRequest(session_id="ghost", variable_identifier="x")),
        (stub.ListVariables, pb.ListVariablesRequest(session_id="ghost")),
        (stub.GetVariables, pb.BatchGetVariablesRequest(session_id="ghost", variable_identifiers=["x"])),
        (stub.SetVariables, pb.BatchSetVariablesRequest(session_id="ghost")),
        (stub.DeleteVariable, pb.DeleteVariableRequest(session_id="ghost", variable_identifier="x")),
    ]
    for method, request in calls:
        error = rpc_error(method, request)
        assert error.code() == grpc.StatusCode.NOT_FOUND and "unknown session 'ghost'" in error.details()
    assert not stub.Heartbeat(pb.HeartbeatRequest(session_id="ghost")).session_valid


def test_stale_expected_version_is_aborted_and_changes_nothing(variables: Variables) -> None:
    variables.register("x", "integer", 0)
    assert variables.set("x", 1, "integer") == 1
    error = rpc_error(variables.set, "x", 2, "integer", expected_version=5)
    assert error.code() == grpc.StatusCode.ABORTED
    assert error.details() == "x: expected version 5 but it is at version 1; nothing was changed"
    stale_zero = rpc_error(variables.set, "x", 2, "integer", metadata={"expected_version": "0"})
    assert stale_zero.code() == grpc.StatusCode.ABORTED
    assert variables.value("x") == 1 and variables.get("x").version == 1
    assert variables.set("x", 2, "integer", expected_version=1) == 2


def test_duplicate_registration_is_already_exists(variables: Variables) -> None:
    variables.register("x", "float", 1.0)
    error = rpc_error(variables.register, "x", "integer", 1)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS and "variable 'x' already exists" in error.details()
    assert variables.get("x").type == "float"


def _binary_any(type_name: str, meta: dict[str, Any]) -> AnyMessage:
    return AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + type_name + ".binary", value=json.dumps(meta).encode())


def test_binary_header_that_lies_about_its_size_is_refused(stub: Any, variables: Variables) -> None:
    variables.register("t", "tensor", {"shape": [2], "data": [1.0, 2.0]})
    payload = pack_binary(TypedBuffer.from_array(np.zeros((64, 64), dtype=np.float32)))
    request = pb.SetVariableRequest(
        session_id=SESSION,
        variable_identifier="t",
        value=_binary_any("tensor", {"shape": [64, 64], "dtype": "float32", "binary_format": "spkb"}),
        binary_value=payload[:-100],
    )
    error = rpc_error(stub.SetVariable, request)
    assert error.code() == INVALID
    assert "t: binary header says 16384 bytes (float32 x [64, 64]) but 16284 bytes follow" in error.details()
    assert variables.get("t").version == 0


@pytest.mark.parametrize(
    ("meta", "payload", "message"),
    [
        ({"binary_format": "pickle"}, pickle.dumps([1.0, 2.0]), "binary_format 'pickle' is refused"),
        ({"binary_format": "erlang_binary"}, b"\x83l\x00\x00\x00\x02", "Erlang term at byte 6: truncated"),
        ({"binary_format": "npy"}, b"\x93NUMPY", "binary_format 'npy' is not one of spkb, raw, erlang_binary"),
        ({"shape": [2]}, pickle.dumps([1.0, 2.0]), "not in the SPKB format"),
        ({"shape": [2], "binary_format": "spkb"}, b"", "marked .binary but no binary bytes came with it"),
    ],
)
def test_pickle_unknown_formats_and_broken_erlang_terms_are_refused(
    stub: Any, variables: Variables, meta: dict[str, Any], payload: bytes, message: str
) -> None:
    variables.register("e", "embedding", [0.0, 0.0])
    request = pb.SetVariableRequest(
        session_id=SESSION, variable_identifier="e", value=_binary_any("embedding", meta), binary_value=payload
    )
    error = rpc_error(stub.SetVariable, request)
    assert error.code() == INVALID and message in error.details(), error.details()


def test_binary_whose_header_disagrees_with_the_stated_shape_is_refused(stub: Any, variables: Variables) -> None:
    variables.register("t", "tensor", {"shape": [2], "data": [1.0, 2.0]})
    request = pb.SetVariableRequest(
        session_id=SESSION,
        variable_identifier="t",
        value=_binary_any("tensor", {"shape": [3, 3], "binary_format": "spkb"}),
        binary_value=pack_binary(TypedBuffer.from_array(np.zeros(9, dtype=np.float32))),
    )
    error = rpc_error(stub.SetVariable, request)
    assert "tensor binary header has shape [9] but the value says [3, 3]" in error.details()


def test_atomic_batch_with_one_bad_value_changes_nothing(stub: Any, variables: Variables) -> None:
    variables.register("a", "float", 0.1, {"max": 1})
    variables.register("b", "integer", 1)
    request = pb.BatchSetVariablesRequest(
        session_id=SESSION, updates={"a": typed("float", 0.2), "b": typed("integer", 1.5)}, atomic=True
    )
    response = stub.SetVariables(request)
    assert not response.success
    assert response.errors == {"b": "b: 1.5 is not a whole number"}
    assert not response.new_versions
    assert variables.value("a") == 0.1 and variables.get("a").version == 0

    request.atomic = False
    response = stub.SetVariables(request)
    assert not response.success and set(response.errors) == {"b"}
    assert response.new_versions == {"a": 1}
    assert variables.value("a") == 0.2


def test_batch_with_an_unknown_variable_is_invalid_argument(stub: Any, variables: Variables) -> None:
    variables.register("a", "float", 0.1)
    request = pb.BatchSetVariablesRequest(
        session_id=SESSION, updates={"a": typed("float", 0.2), "zz": typed("float", 1)}, atomic=True
    )
    error = rpc_error(stub.SetVariables, request)
    assert error.code() == INVALID and "unknown variables in session 's1': zz" in error.details()
    assert variables.value("a") == 0.1


def test_value_that_is_not_json_is_refused(stub: Any, variables: Variables) -> None:
    variables.register("a", "float", 0.1)
    request = pb.SetVariableRequest(
        session_id=SESSION,
        variable_identifier="a",
        value=AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + "float", value=b"\xff{not json"),
    )
    error = rpc_error(stub.SetVariable, request)
    assert error.code() == INVALID and error.details().startswith("a: ")


def test_the_host_keeps_serving_after_bad_input(running: Any, variables: Variables) -> None:
    variables.register("a", "float", 0.1, {"max": 1})
    for bad in (5.0, "x", None):
        rpc_error(variables.set, "a", bad)
    rpc_error(variables.register, "b", "nope", 1)
    assert running.client().ping("still there")
    assert variables.set("a", 0.3) == 1
