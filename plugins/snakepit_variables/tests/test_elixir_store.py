"""The elixir store against a stand-in of Snakepit 0.4.x's BridgeServer (real gRPC both ways)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
import snakepit_variables.plugin as variables_plugin
from google.protobuf.any_pb2 import Any as AnyMessage
from snakepit_variables import variables_for
from snakepit_variables.testing import ElixirVariablesStandIn, VariableRpcs, rpc_error

from snakepit_host import TypedBuffer
from snakepit_host._errors import Conflict, FailedPrecondition, InvalidArgument
from snakepit_host.host_client import SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host
from snakepit_host.testing.elixir_standin import ElixirStandIn

SESSION = "s1"


@pytest.fixture
def elixir() -> Iterator[ElixirVariablesStandIn]:
    standin = ElixirVariablesStandIn()
    standin.start()
    yield standin
    standin.stop()


@contextmanager
def host(address: str | None, **options: Any) -> Iterator[RunningHost]:
    with running_host(variables_plugin, elixir_address=address, options=options) as handle:
        yield handle


def test_auto_chooses_elixir_when_it_serves_the_variable_rpcs(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address) as running:
        VariableRpcs(running.client().stub, SESSION).register("x", "float", 1.0)
        status = running.host.status["variables"]
        assert status["store"] == "elixir" and status["requested"] == "auto"
        assert "serves the variable RPCs" in status["reason"]
    assert elixir.value_of(SESSION, "x") == 1.0


def test_auto_falls_back_to_memory_when_elixir_has_no_variable_rpcs() -> None:
    snakepit_0_13 = ElixirStandIn()  # answers UNIMPLEMENTED for the variable RPCs, like Snakepit 0.5+
    address = snakepit_0_13.start()
    try:
        with host(address) as running:
            VariableRpcs(running.client().stub, SESSION).register("x", "float", 1.0)
            status = running.client().call("describe", {})["status"]["variables"]
            assert status["store"] == "memory" and "does not serve the variable RPCs" in status["reason"]
    finally:
        snakepit_0_13.stop()


def test_explicit_elixir_without_an_address_fails_clearly_and_the_host_keeps_serving() -> None:
    with host(None, variables_store="elixir") as running:
        variables = VariableRpcs(running.client().stub, SESSION)
        error = rpc_error(variables.register, "x", "float", 1.0)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "the elixir store needs the Elixir address" in error.details()
        assert running.host.status["variables"]["store"] is None
        assert running.client().ping()


def test_unknown_store_name_lists_the_installed_ones() -> None:
    with (
        host(None, variables_store="etcd") as running,
        pytest.raises(
            FailedPrecondition, match=r"'etcd' is not installed \(available: elixir, memory, redis, sqlite\)"
        ),
    ):
        variables_for(running.host, SESSION).register("x", "float", 1.0)


def test_python_writes_reach_elixir_and_elixir_writes_reach_python(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = VariableRpcs(running.client().stub, SESSION)
        variable_id = variables.register("temperature", "float", 0.5, {"max": 1})
        assert variable_id.startswith("var_temperature_")  # Elixir's id
        assert variables.set("temperature", 0.75) == 1
        assert elixir.value_of(SESSION, "temperature") == 0.75

        assert elixir.set_from_elixir(SESSION, "temperature", 0.25) == 2
        seen = variables.get("temperature")  # cache TTL 0: every read checks the version
        assert json.loads(seen.value.value) == 0.25 and seen.version == 2 and seen.source == pb.Variable.ELIXIR
        history = variables_for(running.host, SESSION).history("temperature")
        assert [(e.version, e.value) for e in history] == [(0, 0.5), (1, 0.75), (2, 0.25)]

        error = rpc_error(variables.set, "temperature", 2.0)  # validated here, before Elixir sees it
        assert (
            error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details() == "temperature: 2.0 is above max 1.0"
        )
        assert elixir.value_of(SESSION, "temperature") == 0.25


def test_cached_reads_are_checked_by_version_after_the_ttl(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=3600) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("n", "integer", 1)
        gets_before = len(elixir.calls("GetVariable"))
        assert variables.get("n") == 1 and len(elixir.calls("GetVariable")) == gets_before  # served from cache
        elixir.set_from_elixir(SESSION, "n", 2)
        assert variables.get("n") == 1  # within the TTL the cache is trusted
        assert variables.get_variable("n", fresh=True).value == 2  # a version check sees the change
        assert variables.get("n") == 2


def test_unchanged_versions_reuse_the_decoded_value(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("e", "embedding", [0.1] * 16)
        first, second = variables.get("e"), variables.get("e")
        assert first is second  # same version: not decoded again


def test_optimistic_check_is_emulated_against_elixir_side_writes(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=3600) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("n", "integer", 0)
        elixir.set_from_elixir(SESSION, "n", 10)
        with pytest.raises(Conflict, match="expected version 0 but it is at version 1"):
            variables.set("n", 1, expected_version=0)
        assert elixir.value_of(SESSION, "n") == 10
        assert variables.set("n", 11, expected_version=1) == 2


def test_concurrent_python_writers_lose_nothing(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("n", "integer", 0)

        def increment() -> None:
            for _ in range(10):
                while True:
                    current = variables.get_variable("n")
                    try:
                        variables.set("n", current.value + 1, expected_version=current.version)
                        break
                    except Conflict:
                        continue

        threads = [threading.Thread(target=increment) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert elixir.value_of(SESSION, "n") == 40


def test_watchers_see_changes_made_on_the_elixir_side(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0.05) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("x", "float", 0.0)
        with variables.watch("x") as watch:
            elixir.set_from_elixir(SESSION, "x", 0.5)
            event = watch.get(timeout=10)
        assert event is not None and event.kind == "value_change" and event.variable.value == 0.5
        assert event.source == "ELIXIR" and event.metadata["changed_elsewhere"] == "true"


def test_python_only_types_are_kept_as_json_text_in_elixir(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("config", "dict", {"layers": [1, 2]}, constraints={"max_length": 3})
        stored = elixir.variables[SESSION]["config"]
        assert stored.type == "string" and stored.metadata["snakepit_type"] == "dict"
        assert json.loads(elixir.value_of(SESSION, "config")) == {"layers": [1, 2]}
        variables.set("config", {"layers": [3]})
        fetched = variables.get_variable("config", fresh=True)
        assert (fetched.type, fetched.value, fetched.constraints) == ("dict", {"layers": [3]}, {"max_length": 3})
        with pytest.raises(InvalidArgument, match="length 4 is above max_length 3 entries"):
            variables.set("config", {"a": 1, "b": 2, "c": 3, "d": 4})


LARGE = [i / 7 - 100.0 for i in range(1281)]  # the smallest embedding 0.4.1 sends as Erlang terms


def _register_in_elixir(elixir: ElixirVariablesStandIn, session: str, name: str, value: list[float]) -> None:
    """Register a variable the way Elixir code does (SessionStore, not through Python)."""
    with SnakepitClient(elixir.address) as elixir_client:  # any BridgeService works with this client's stub
        elixir_client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session))
        VariableRpcs(elixir_client.stub, session).register(name, "embedding", value)


def test_large_embeddings_from_elixir_arrive_as_erlang_terms_and_are_read(elixir: ElixirVariablesStandIn) -> None:
    _register_in_elixir(elixir, SESSION, "e", LARGE)
    with SnakepitClient(elixir.address) as elixir_client:
        sent = VariableRpcs(elixir_client.stub, SESSION).get("e")
    assert sent.value.type_url.endswith("snakepit.embedding.binary") and sent.binary_value[:2] == b"\x83l"
    assert json.loads(sent.value.value) == {
        "binary_format": "erlang_binary",
        "dtype": "float32",
        "shape": [1281],
        "type": "embedding",
    }
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        client = running.client()
        result = client.call_full("get_variable", {"name": "e"}, session_id=SESSION)  # a Python command
        assert isinstance(result.binary, TypedBuffer) and result.binary.to_numpy().tolist() == LARGE
        listed = client.call("list_variables", {}, session_id=SESSION)
        assert listed[0]["value"] == LARGE
        assert client.call("get_variables", {"names": ["e"]}, session_id=SESSION)["variables"]["e"] == LARGE
        assert len(elixir.calls("GetVariable")) and len(elixir.calls("ListVariables"))


def test_python_writes_of_large_embeddings_come_back_through_erlang_terms(elixir: ElixirVariablesStandIn) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("e", "embedding", [0.0] * 4)
        variables.set("e", LARGE)
        assert elixir.value_of(SESSION, "e") == LARGE  # sent as JSON, which 0.4.1 reads
        fetched = variables.get_variable("e", fresh=True)
        assert fetched.version == 1 and fetched.value.tolist() == LARGE


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x83h\x02d\x00\x02okF" + b"\x00" * 8, "a tuple (SMALL_TUPLE_EXT) is not allowed"),
        (b"\x83l\x00\x00\x07\xd0", "truncated: a list of 2000 elements cannot fit in 0 bytes"),
        (b"\x83l\x00\x00\x00\x01w\x04kill" + b"j", "the atom 'kill' is not allowed"),
    ],
)
def test_erlang_terms_outside_the_numeric_subset_are_refused_clearly(
    elixir: ElixirVariablesStandIn, payload: bytes, message: str
) -> None:
    with host(elixir.address, variables_store="elixir", variables_cache_ttl=0) as running:
        variables = variables_for(running.host, SESSION)
        variables.register("e", "embedding", [0.0] * 4)
        stored = elixir.variables[SESSION]["e"]
        stored.value.CopyFrom(
            AnyMessage(
                type_url="type.googleapis.com/snakepit.embedding.binary",
                value=json.dumps({"shape": [2000], "dtype": "float32", "binary_format": "erlang_binary"}).encode(),
            )
        )
        stored.binary_value = payload
        stored.version += 1
        with pytest.raises(InvalidArgument, match="e: the value Elixir holds cannot be read: Erlang term") as caught:
            variables.get("e")
        assert message in str(caught.value)
        assert running.client().ping("still serving").endswith("still serving")


def test_sessions_made_on_the_elixir_side_are_adopted(elixir: ElixirVariablesStandIn) -> None:
    with SnakepitClient(elixir.address) as elixir_client:  # any BridgeService works with this client's stub
        elixir_side = VariableRpcs(elixir_client.stub, "from-elixir")
        elixir_side.stub.InitializeSession(pb.InitializeSessionRequest(session_id="from-elixir"))
        elixir_side.register("k", "integer", 7)
    with host(elixir.address, variables_store="elixir") as running:
        python_side = VariableRpcs(running.client().stub, "from-elixir")
        assert python_side.value("k") == 7
        assert rpc_error(VariableRpcs(running.client().stub, "nowhere").get, "k").code() == grpc.StatusCode.NOT_FOUND
