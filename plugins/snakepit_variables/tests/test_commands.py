"""The variable commands through ExecuteTool (what Snakepit 0.13 callers have)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from snakepit_host.codec import TypedBuffer
from snakepit_host.host_client import RemoteError, SnakepitClient
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
