"""The ``.binary`` forms over a real server: raw both ways, SPKB by default, Erlang terms read, bad headers refused."""

from __future__ import annotations

import json
import struct
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from snakepit_variables.testing import VariableRpcs, erlang_float_list, rpc_error

from snakepit_host import codec
from snakepit_host.codec import TypedBuffer, unpack_binary
from snakepit_host.host_client import SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb

SESSION = "s1"
RAW_PREFERRED = {"binary_format": "raw"}


def binary_any(type_name: str, meta: dict[str, Any]) -> AnyMessage:
    return AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + type_name + ".binary", value=json.dumps(meta).encode())


def raw_meta(array: np.ndarray, byte_order: str = "little") -> dict[str, Any]:
    return {"binary_format": "raw", "dtype": array.dtype.name, "shape": list(array.shape), "byte_order": byte_order}


def register_raw(stub: Any, name: str, array: np.ndarray, metadata: dict[str, str] | None = None) -> None:
    request = pb.RegisterVariableRequest(
        session_id=SESSION,
        name=name,
        type="tensor",
        initial_value=binary_any("tensor", raw_meta(array)),
        initial_binary_value=array.astype(array.dtype.newbyteorder("<")).tobytes(),
        metadata=metadata or {},
    )
    assert stub.RegisterVariable(request).success


def test_raw_in_raw_out_when_the_variable_asks_for_it(stub: Any, variables: VariableRpcs) -> None:
    array = np.arange(3 * 4096, dtype=np.float32).reshape(3, 4096) / 3
    register_raw(stub, "w", array, RAW_PREFERRED)
    message = variables.get("w")
    assert message.value.type_url.endswith("snakepit.tensor.binary")
    assert json.loads(message.value.value) == {
        "shape": [3, 4096],
        "dtype": "float32",
        "binary_format": "raw",
        "type": "tensor",
        "byte_order": "little",
    }
    assert message.binary_value == array.tobytes()  # the data alone, no framing
    assert message.metadata["binary_format"] == "raw"


def test_raw_in_spkb_out_by_default(stub: Any, variables: VariableRpcs) -> None:
    array = np.linspace(-1, 1, 5000, dtype=np.float64)
    register_raw(stub, "w", array)
    message = variables.get("w")
    assert json.loads(message.value.value)["binary_format"] == "spkb"
    received = unpack_binary(message.binary_value)
    assert isinstance(received, TypedBuffer) and np.array_equal(received.to_numpy(), array)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "int64", "uint8"])
def test_big_endian_raw_writes_are_read_right(stub: Any, variables: VariableRpcs, dtype: str) -> None:
    first = np.zeros(16_384, dtype=dtype)  # 16 KiB and more: sent binary
    register_raw(stub, "w", first, RAW_PREFERRED)
    array = (np.arange(16_384) % 100).astype(dtype)
    request = pb.SetVariableRequest(
        session_id=SESSION,
        variable_identifier="w",
        value=binary_any("tensor", raw_meta(array, "big")),
        binary_value=array.astype(np.dtype(dtype).newbyteorder(">")).tobytes(),
    )
    assert stub.SetVariable(request).new_version == 1
    message = variables.get("w")
    assert np.array_equal(np.frombuffer(message.binary_value, dtype=np.dtype(dtype).newbyteorder("<")), array)


def test_raw_batch_updates(stub: Any, variables: VariableRpcs) -> None:
    register_raw(stub, "a", np.zeros(4096, dtype=np.float32), RAW_PREFERRED)
    register_raw(stub, "b", np.zeros(4096, dtype=np.float32), RAW_PREFERRED)
    new = {name: np.full(4096, value, dtype=np.float32) for name, value in (("a", 1.5), ("b", -2.5))}
    batch = pb.BatchSetVariablesRequest(session_id=SESSION, atomic=True)
    for name, array in new.items():
        batch.updates[name].CopyFrom(binary_any("tensor", raw_meta(array)))
        batch.binary_updates[name] = array.tobytes()
    response = stub.SetVariables(batch)
    assert response.success and dict(response.new_versions) == {"a": 1, "b": 1}
    for name, array in new.items():
        assert variables.get(name).binary_value == array.tobytes()


def test_commands_answer_in_the_variables_form(running: Any) -> None:
    client: SnakepitClient = running.client()
    array = np.arange(10_000, dtype=np.float32)
    registered = client.call_full(
        "register_variable",
        {"name": "w", "type": "tensor", "metadata": RAW_PREFERRED},
        session_id=SESSION,
        binary={"value": TypedBuffer.from_array(array)},
    )
    assert registered.value["value"]["binary_format"] == "raw" and registered.value["value"]["byte_order"] == "little"
    assert registered.binary == array.tobytes()  # raw bytes: no SPKB header to strip
    fetched = client.call_full("get_variable", {"name": "w"}, session_id=SESSION)
    assert fetched.binary == array.tobytes() and fetched.value["value"]["shape"] == [10_000]


def test_erlang_terms_sent_by_a_client_are_read(stub: Any, variables: VariableRpcs) -> None:
    variables.register("e", "embedding", [0.0])
    values = [i / 9 for i in range(1500)]
    request = pb.SetVariableRequest(
        session_id=SESSION,
        variable_identifier="e",
        value=binary_any(
            "embedding", {"binary_format": "erlang_binary", "dtype": "float32", "shape": [1500], "type": "embedding"}
        ),
        binary_value=erlang_float_list(values),
    )
    assert stub.SetVariable(request).new_version == 1
    received = unpack_binary(variables.get("e").binary_value)
    assert isinstance(received, TypedBuffer) and received.to_numpy().tolist() == values  # float64: nothing lost


@pytest.mark.parametrize(
    ("meta", "payload", "message"),
    [
        (
            {"dtype": "float32", "shape": [2]},
            struct.pack("<2f", 1, 2),
            "byte_order must be 'little' or 'big', got None",
        ),
        ({"dtype": "float32", "shape": [2], "byte_order": "native"}, b"\x00" * 8, "byte_order must be 'little' or"),
        ({"dtype": "float128", "shape": [1], "byte_order": "little"}, b"\x00" * 16, "dtype must be one of bool, int8"),
        ({"dtype": "float32", "shape": [-1], "byte_order": "little"}, b"\x00" * 4, "shape must be a list of at most"),
        ({"dtype": "float32", "shape": "3", "byte_order": "little"}, b"\x00" * 12, "shape must be a list"),
        ({"dtype": "float32", "shape": [3], "byte_order": "little"}, b"\x00" * 8, "float32 x [3] is 12 bytes but 8"),
        ({"dtype": "float32", "shape": [2**40, 2**40], "byte_order": "big"}, b"\x00" * 8, "bytes but 8 bytes came"),
        ({"dtype": "complex64", "shape": [1], "byte_order": "little"}, b"\x00" * 8, "must be real numbers"),
    ],
)
def test_bad_raw_headers_are_refused(stub: Any, meta: dict[str, Any], payload: bytes, message: str) -> None:
    request = pb.RegisterVariableRequest(
        session_id=SESSION,
        name="w",
        type="tensor",
        initial_value=binary_any("tensor", {"binary_format": "raw", **meta}),
        initial_binary_value=payload,
    )
    error = rpc_error(stub.RegisterVariable, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("w: ") and message in error.details(), error.details()


def test_an_unknown_reply_form_in_metadata_is_refused(stub: Any, variables: VariableRpcs) -> None:
    error = rpc_error(variables.register, "x", "float", 1.0, metadata={"binary_format": "pickle"})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x: metadata binary_format must be spkb or raw, got 'pickle'" in error.details()
    assert rpc_error(variables.get, "x").code() == grpc.StatusCode.NOT_FOUND
