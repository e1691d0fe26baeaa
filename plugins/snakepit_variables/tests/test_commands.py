"""The variable commands through ExecuteTool (what Snakepit 0.13 callers have)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host.codec import SNAKEPIT_URL_PREFIX, TypedBuffer
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost


@pytest.fixture
def client(running: RunningHost) -> SnakepitClient:
    return running.client()


def call(client: SnakepitClient, command: str, **params: Any) -> Any:
    return client.call(command, params, session_id="c")


def test_full_cycle(client: SnakepitClient) -> None:
    registered = call(client, "register_variable", name="temperature", type="float", value=0.5, constraints={"max": 1})
    assert registered["version"] == 0 and registered["constraints"] == {"max": 1.0}
    assert call(client, "set_variable", name="temperature", value=0.6, expected_version=0) == {
        "name": "temperature",
        "version": 1,
    }
    assert call(client, "get_variable", name="temperature")["value"] == 0.6
    call(client, "register_variable", name="tags", type="list", value=["a"])
    assert call(client, "get_variables", names=["tags", "nope"]) == {"variables": {"tags": ["a"]}, "missing": ["nope"]}
    assert call(client, "set_variables", updates={"temperature": 0.7, "tags": []}) == {
        "versions": {"temperature": 2, "tags": 1},
        "errors": {},
    }
    assert [v["name"] for v in call(client, "list_variables")] == ["tags", "temperature"]
    assert [e["value"] for e in call(client, "variable_history", name="temperature", limit=2)] == [0.6, 0.7]
    assert call(client, "rollback_variable", name="temperature", version=0)["value"] == 0.5
    assert call(client, "delete_variable", name="tags") == {"deleted": "tags"}
    assert [v["name"] for v in call(client, "list_variables", pattern="tag")] == []


def test_register_variable_takes_snakepits_initial_value(client: SnakepitClient) -> None:
    """The keys Snakepit's own examples send (``initial_value``, ``constraints``; sometimes ``metadata``)."""
    registered = call(
        client, "register_variable", name="temp", type="float", initial_value=0.7, constraints={"min": 0, "max": 1}
    )
    assert (registered["value"], registered["version"]) == (0.7, 0)
    call(client, "register_variable", name="mode", type="string", initial_value="fast", metadata={"by": "demo"})
    assert call(client, "get_variable", name="mode")["value"] == "fast"
    with pytest.raises(RemoteError, match=r"temp2: 1\.5 is above max 1\.0"):
        call(client, "register_variable", name="temp2", type="float", initial_value=1.5, constraints={"max": 1})


def test_a_041_embedding_parameter_without_its_data_is_explained(client: SnakepitClient) -> None:
    call(client, "register_variable", name="e", type="embedding", value=[0.0])
    meta = {"binary_format": "erlang_binary", "dtype": "float32", "shape": [2000], "type": "embedding"}
    request = pb.ExecuteToolRequest(tool_name="set_variable", session_id="c")
    request.parameters["name"].CopyFrom(AnyMessage(type_url=SNAKEPIT_URL_PREFIX + "string", value=b'"e"'))
    request.parameters["value"].CopyFrom(
        AnyMessage(type_url=SNAKEPIT_URL_PREFIX + "embedding.binary", value=json.dumps(meta).encode())
    )
    response = client.stub.ExecuteTool(request)
    assert not response.success and "expected a list of numbers" not in response.error_message
    assert "parameter 'value': only the description of the embedding (shape [2000]) arrived" in response.error_message
    assert call(client, "get_variable", name="e")["version"] == 0


def test_large_tensor_goes_binary_both_ways(client: SnakepitClient) -> None:
    array = np.linspace(0, 1, 100_000, dtype=np.float32)
    result = client.call_full(
        "register_variable",
        {"name": "w", "type": "tensor"},
        session_id="c",
        binary={"value": TypedBuffer.from_array(array)},
    )
    assert result.value["value"]["binary_format"] == "spkb"
    assert isinstance(result.binary, TypedBuffer) and np.array_equal(result.binary.to_numpy(), array)
    fetched = client.call("get_variable", {"name": "w"}, session_id="c")
    assert isinstance(fetched, TypedBuffer) and np.array_equal(fetched.to_numpy(), array)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "get_variable",
            {},
            "command 'get_variable': 1 problem with the parameters: missing required parameter 'name'",
        ),
        ("get_variable", {"name": 5}, "parameter 'name': 5 is not of type 'string'"),
        ("get_variable", {"name": "x", "extra": 1}, "unknown parameter 'extra' (accepted: name)"),
        ("set_variable", {"name": "x"}, "missing required parameter 'value'"),
        ("set_variable", {"name": "x", "value": 1, "expected_version": True}, "True is not of type 'integer'"),
        ("set_variable", {"name": "x", "value": 1, "expected_version": -1}, "-1 is less than the minimum of 0"),
        ("variable_history", {"name": "x", "limit": 0}, "parameter 'limit': 0 is less than the minimum of 1"),
        ("set_variable", {"name": "x", "value": 1, "metadata": {"k": 1}}, "parameter 'metadata.k': 1 is not of type"),
        (
            "register_variable",
            {"name": "x", "type": "float", "value": 2, "constraints": {"max": 1}},
            "x: 2.0 is above max 1.0",
        ),
        (
            "register_variable",
            {"name": "x", "type": "float", "value": 0, "constraints": "max=1"},
            "parameter 'constraints': 'max=1' is not of type 'object'",
        ),
        ("get_variable", {"name": "nope"}, "unknown variable 'nope' in session 'c'"),
        (
            "register_variable",
            {"name": "x", "type": "float", "value": 1, "initial_value": 1},
            "'value' and 'initial_value' cannot be given together",
        ),
    ],
)
def test_bad_parameters_fail_with_a_clear_message(
    client: SnakepitClient, name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(RemoteError) as caught:
        client.call(name, params, session_id="c")
    assert message in caught.value.message


def test_stale_version_and_atomic_batch_through_commands(client: SnakepitClient) -> None:
    call(client, "register_variable", name="n", type="integer", value=0)
    call(client, "set_variable", name="n", value=1)
    with pytest.raises(RemoteError, match="expected version 0 but it is at version 1") as caught:
        call(client, "set_variable", name="n", value=2, expected_version=0)
    assert caught.value.metadata["error_status"] == "ABORTED"
    with pytest.raises(RemoteError, match="nothing was changed"):
        call(client, "set_variables", updates={"n": 5, "missing": 1})
    assert call(client, "set_variables", updates={"n": 5, "missing": 1}, atomic=False)["versions"] == {"n": 2}


def test_commands_describe_their_parameters(client: SnakepitClient) -> None:
    commands = {c["name"]: c for c in client.call("describe", {})["commands"]}
    schema = commands["set_variable"]["parameters"]
    assert schema["required"] == ["name", "value"] and "expected_version" in schema["properties"]
    assert {"register_variable", "rollback_variable", "variable_history"} <= set(commands)


def test_source_says_who_wrote_the_value(client: SnakepitClient) -> None:
    """Only a request from Snakepit's Elixir client (its ``correlation_id``) or one that says so is ``ELIXIR``."""
    from_python = call(client, "register_variable", name="p", type="integer", value=1)
    assert (from_python["source"], from_python["metadata"]["source"]) == ("PYTHON", "python")
    elixir_request = {"correlation_id": "corr-1"}  # what Snakepit 0.13 puts into every ExecuteTool request
    from_elixir = client.call(
        "register_variable", {"name": "e", "type": "integer", "value": 1}, session_id="c", metadata=elixir_request
    )
    assert (from_elixir["source"], from_elixir["metadata"]["source"]) == ("ELIXIR", "elixir")
    client.call("set_variable", {"name": "p", "value": 2}, session_id="c", metadata=elixir_request)
    assert [e["source"] for e in call(client, "variable_history", name="p")] == ["PYTHON", "ELIXIR"]
    said = call(client, "register_variable", name="s", type="integer", value=1, metadata={"source": "Elixir"})
    assert said["source"] == "ELIXIR"
    other = call(client, "register_variable", name="o", type="integer", value=1, metadata={"source": "notebook"})
    assert (other["source"], other["metadata"]["source"]) == ("PYTHON", "notebook")  # kept, but not Elixir
