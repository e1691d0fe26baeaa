"""The tool bridge with Elixir, against the Python stand-in of Snakepit's BridgeServer."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from snakepit_tools import tool
from snakepit_tools.elixir_bridge import registration_metadata, worker_id_for
from snakepit_tools.session_tools import make_callable

from snakepit_host import SessionContext, TypedBuffer, codec
from snakepit_host._registry import Tool
from snakepit_host.host_client import RemoteError
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing.elixir_standin import ElixirStandIn

ELIXIR_ERROR = 'invalid widget: "x" (expected one of [:a, :b])'


@tool(tags=["math", "cheap"])
def add(a: int, b: int = 1) -> int:
    """Add two integers.

    :param a: the first
    """
    return a + b


def ticker(n: int) -> Iterator[int]:
    yield from range(n)


def ask_elixir(ctx: SessionContext, tool_name: str, arguments: dict[str, Any]) -> Any:
    """Calls a tool through ctx.tools, as an agent's code would."""
    return ctx.tools.call(tool_name, **arguments)


def send_object(ctx: SessionContext) -> Any:
    return ctx.tools.call("greet", name=object())


def session_view(ctx: SessionContext) -> dict[str, Any]:
    return {
        "elixir": [t["name"] for t in ctx.tools.elixir()],
        "python": [t["name"] for t in ctx.tools.list(language="python")],
        "math": [t["name"] for t in ctx.tools.list(tags=["math"])],
        "callables": {f.__name__: str(inspect.signature(f)) for f in ctx.tools.callables()},
        "doubled": next(f for f in ctx.tools.callables(language="elixir") if f.__name__ == "multiply")(a=21, b=2),
    }


class BinaryStandIn(ElixirStandIn):
    """Adds an Elixir tool answering ``{:binary, bytes, meta}`` (binary_result, Snakepit 0.13)."""

    def ExecuteElixirTool(
        self, request: pb.ExecuteElixirToolRequest, context: grpc.ServicerContext
    ) -> pb.ExecuteElixirToolResponse:
        if request.tool_name != "raw_bytes":
            return super().ExecuteElixirTool(request, context)
        self._record("ExecuteElixirTool", request)
        buffer = TypedBuffer(b"\x00\x00\x80\x3f" * 3, "float32", (3,))
        return pb.ExecuteElixirToolResponse(
            success=True, result=codec.encode_json_any({"kind": "ones"}), binary_result=codec.pack_binary(buffer)
        )


def fail(params: dict[str, Any]) -> Any:
    raise RuntimeError(ELIXIR_ERROR)


@pytest.fixture
def elixir() -> Iterator[ElixirStandIn]:
    standin = BinaryStandIn()
    standin.expose_tool(
        "multiply", lambda p: p["a"] * p["b"], description="Multiply", parameters=[("a", "integer"), ("b", "integer")]
    )
    standin.expose_tool("greet", lambda p: f"hello {p['name']}", parameters=[("name", "string")])
    standin.expose_tool("explode", fail)
    standin.expose_tool("raw_bytes", lambda p: None)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def running(serve: Any, tools_from: Any, elixir: ElixirStandIn) -> Any:
    return serve(tools_from(add, ticker, ask_elixir, send_object, session_view), elixir_address=elixir.address)


def registered(elixir: ElixirStandIn, session_id: str) -> dict[str, pb.ToolRegistration]:
    with elixir.lock:
        return {name: reg for (sid, name), reg in elixir.registered_tools.items() if sid == session_id}


def initialize(client: Any, session_id: str) -> None:
    """What Snakepit 0.13 does once per worker: InitializeSession of the worker's session."""
    assert client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session_id), timeout=10).success


def test_an_initialized_session_is_announced_once(running: Any, elixir: ElixirStandIn, wait_until: Any) -> None:
    client = running.client()
    initialize(client, "s1")
    tools = wait_until(lambda: registered(elixir, "s1"), "RegisterTools for s1")
    assert sorted(tools) == ["add", "ask_elixir", "send_object", "session_view", "ticker"]
    request = elixir.calls("RegisterTools")[0]
    assert request.worker_id == running.host.status["tools"]["worker_id"] == f"snakepit-host@{running.host.address}"
    spec = {p.name: p for p in tools["add"].parameters}
    assert (spec["a"].type, spec["a"].required, spec["a"].description) == ("int", True, "the first")
    assert (spec["b"].type, spec["b"].required) == ("int", False)
    assert json.loads(spec["b"].validation_json) == {"type": "integer", "default": 1}
    assert tools["add"].description == "Add two integers."
    assert tools["add"].metadata["tags"] == "math,cheap"
    assert tools["add"].metadata["language"] == "python"
    assert tools["ticker"].supports_streaming and not tools["add"].supports_streaming
    assert {p.type for p in tools["ask_elixir"].parameters} == {"str", "dict"}
    # InitializeSession came first, and calls in the session announce nothing new.
    assert [m for m, r in elixir.requests if getattr(r, "session_id", "") == "s1"][:2] == [
        "InitializeSession",
        "RegisterTools",
    ]
    client.call("add", {"a": 2}, session_id="s1")
    client.call("ask_elixir", {"tool_name": "multiply", "arguments": {"a": 3, "b": 4}}, session_id="s1")
    wait_until(lambda: running.host.status["tools"]["announced_sessions"] == 1, "the status to count s1")
    assert len(elixir.calls("RegisterTools")) == 1


def test_sessions_made_by_calls_reach_elixir_only_when_they_use_it(
    running: Any, elixir: ElixirStandIn, wait_until: Any
) -> None:
    """A session id named by a call costs Elixir nothing until the session needs Elixir."""
    client = running.client()
    for n in range(50):
        assert client.call("add", {"a": n}, session_id=f"throwaway-{n}") == n + 1
    assert len(running.host.sessions) >= 50
    assert not [m for m, r in elixir.requests if getattr(r, "session_id", "").startswith("throwaway-")]
    # The first use of Elixir in such a session announces it first (an Elixir tool may call back into it).
    assert client.call("ask_elixir", {"tool_name": "multiply", "arguments": {"a": 3, "b": 4}}, session_id="s9") == 12
    assert [m for m, r in elixir.requests if getattr(r, "session_id", "") == "s9"][:3] == [
        "InitializeSession",
        "RegisterTools",
        "GetExposedElixirTools",
    ]
    assert sorted(registered(elixir, "s9")) == ["add", "ask_elixir", "send_object", "session_view", "ticker"]
    client.call("call_elixir_tool", {"tool_name": "greet", "parameters": {"name": "x"}}, session_id="s9")
    assert len(elixir.calls("RegisterTools")) == 1 and running.host.status["tools"]["announced_sessions"] == 1


def test_default_session_is_announced_when_it_appears(running: Any, elixir: ElixirStandIn, wait_until: Any) -> None:
    """Snakepit 0.4 sends every call in ``default_session``: that one Elixir knows from the start."""
    running.client().call("add", {"a": 1})
    wait_until(lambda: registered(elixir, "default_session"), "RegisterTools for default_session")


def test_tools_are_announced_again_after_elixir_restarts(running: Any, elixir: ElixirStandIn, wait_until: Any) -> None:
    client = running.client()
    initialize(client, "s1")
    wait_until(lambda: registered(elixir, "s1"), "the first announcement")
    elixir.restart()  # same port, every session and registration forgotten
    assert not registered(elixir, "s1")
    # The next call that needs Elixir reconnects; the session is re-initialised on the way.
    assert client.call("ask_elixir", {"tool_name": "multiply", "arguments": {"a": 3, "b": 4}}, session_id="s1") == 12
    wait_until(lambda: registered(elixir, "s1"), "the re-announcement")
    assert running.host.status["tools"]["reconnects"] >= 1


def test_elixir_tools_are_session_proxies_callable_by_name(running: Any, elixir: ElixirStandIn) -> None:
    client = running.client()
    view = client.call("session_view", {}, session_id="s2")
    assert view["elixir"] == ["explode", "greet", "multiply", "raw_bytes"]
    assert view["math"] == ["add"]
    assert "explode" not in view["python"]
    assert view["callables"]["multiply"] == "(*, a: int, b: int)"
    assert view["callables"]["add"] == "(*, a: int, b: int = 1)"
    assert view["doubled"] == 42
    # The proxies live in the session: ExecuteTool reaches them by name there.
    assert client.call("multiply", {"a": 6, "b": 7}, session_id="s2") == 42
    assert client.call("greet", {"name": "Ada"}, session_id="s2") == "hello Ada"
    listing = client.call("list_tools", {"language": "elixir"}, session_id="s2")["tools"]
    multiply = next(t for t in listing if t["name"] == "multiply")
    assert multiply["language"] == "elixir"
    assert multiply["parameters"]["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    described = client.call("describe_tool", {"name": "greet"}, session_id="s2")
    assert described["parameters"]["required"] == ["name"]


def test_an_elixir_tool_named_in_the_first_call_of_a_session(running: Any) -> None:
    # No earlier call created "fresh" or fetched its tools: the host asks resolve_command.
    assert running.host.sessions.get("fresh") is None
    assert running.client().call("multiply", {"a": 3, "b": 5}, session_id="fresh") == 15


def test_parameters_travel_as_string_value_json(running: Any, elixir: ElixirStandIn) -> None:
    client = running.client()
    assert client.call("call_elixir_tool", {"tool_name": "greet", "parameters": {"name": "Bo"}}) == "hello Bo"
    sent = elixir.calls("ExecuteElixirTool")[-1]
    assert sent.parameters["name"].type_url == codec.STRING_VALUE_URL
    assert sent.parameters["name"].value == b'"Bo"'  # JSON text, not a packed StringValue


def test_elixir_errors_surface_unchanged(running: Any) -> None:
    client = running.client()
    with pytest.raises(RemoteError) as direct:
        client.call("call_elixir_tool", {"tool_name": "explode", "parameters": {}})
    assert direct.value.message == ELIXIR_ERROR
    with pytest.raises(RemoteError) as proxied:
        client.call("ask_elixir", {"tool_name": "explode", "arguments": {}}, session_id="s3")
    assert proxied.value.message == ELIXIR_ERROR
    with pytest.raises(RemoteError) as unknown:
        client.call("call_elixir_tool", {"tool_name": "nope"})
    assert unknown.value.message == "Tool nope not found"
    with pytest.raises(
        RemoteError, match="Elixir tool 'greet': parameter 'name' cannot be sent: .*not JSON-serializable"
    ):
        client.call("send_object", {}, session_id="s3")
    with pytest.raises(RemoteError, match="'nope' is not a known tool"):
        client.call("ask_elixir", {"tool_name": "nope", "arguments": {}}, session_id="s3")


def test_binary_results_from_elixir(running: Any, wait_until: Any) -> None:
    client = running.client()
    initialize(client, "s4")
    # An initialised session's Elixir tools are fetched in the background right after it is created.
    wait_until(lambda: "raw_bytes" in running.host.sessions.get("s4").local_commands, "the proxies of s4")
    result = client.call_full("raw_bytes", {}, session_id="s4")
    assert result.value == {"kind": "ones"}
    assert isinstance(result.binary, TypedBuffer) and list(result.binary.to_numpy()) == [1.0, 1.0, 1.0]
    via_ctx = client.call("ask_elixir", {"tool_name": "raw_bytes", "arguments": {}}, session_id="s4")
    assert isinstance(via_ctx, TypedBuffer)  # ctx.tools.call returns the binary, as SnakepitClient.call does


def test_unreachable_elixir_names_the_address_and_python_tools_keep_working(
    serve: Any, tools_from: Any, wait_until: Any
) -> None:
    gone = ElixirStandIn()
    address = gone.start()
    gone.stop()
    handle = serve(tools_from(add, ask_elixir, session_view), elixir_address=address)
    client = handle.client()
    assert client.call("add", {"a": 1}, session_id="s5") == 2  # announcing fails quietly
    with pytest.raises(RemoteError) as caught:
        client.call("call_elixir_tool", {"tool_name": "greet", "parameters": {"name": "x"}}, session_id="s5")
    assert caught.value.message.startswith(f"Elixir at {address} is unreachable")
    assert caught.value.error_type == "Unavailable"
    status = wait_until(lambda: handle.host.status["tools"]["announce_failures"] and handle.host.status["tools"], "x")
    assert address in status["last_announce_error"]
    with pytest.raises(
        RemoteError, match=f"no Python tool named 'greet', and Elixir's tools are unavailable: Elixir at {address}"
    ):
        client.call("ask_elixir", {"tool_name": "greet", "arguments": {}}, session_id="s5")
    with pytest.raises(RemoteError) as by_name:
        client.call("greet", {"name": "x"}, session_id="s6")
    assert by_name.value.message.startswith("unknown command 'greet'")
    assert f"could not look it up: Elixir at {address} is unreachable" in by_name.value.message
    # Listings leave Elixir's tools out rather than fail, unless asked for them.
    assert client.call("list_tools", {}, session_id="s5")["tools"][0]["name"] == "add"
    with pytest.raises(RemoteError, match="unreachable"):
        client.call("list_tools", {"language": "elixir"}, session_id="s5")


def test_without_elixir_there_are_no_elixir_tools(serve: Any, tools_from: Any) -> None:
    client = serve(tools_from(add, session_view)).client()
    with pytest.raises(RemoteError, match="this worker has no Elixir address"):
        client.call("call_elixir_tool", {"tool_name": "greet"})
    assert client.call("list_tools", {"language": "elixir"}) == {"tools": []}
    assert [t["name"] for t in client.call("list_tools")["tools"]] == ["add", "session_view"]


def test_worker_id_choice(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = serve(options={"tools_worker_id": "pool-worker-7"})
    assert worker_id_for(handle.host) == "pool-worker-7"
    handle = serve()
    monkeypatch.setenv("SNAKEPIT_READY_FILE", "/tmp/snakepit_ready_default_pool_worker_3_k3x9a2p_5123")
    assert worker_id_for(handle.host) == "default_pool_worker_3_k3x9a2p"
    monkeypatch.setenv("SNAKEPIT_WORKER_ID", "from-env")
    assert worker_id_for(handle.host) == "default_pool_worker_3_k3x9a2p"  # options are read once, at start-up
    assert worker_id_for(serve().host) == "from-env"


def test_registration_metadata_respects_snakepit_limits(serve: Any, tools_from: Any) -> None:
    many = {f"key{i}": "v" * 200 for i in range(40)}

    @tool(metadata=many)
    def crowded() -> None:
        """Lots of metadata."""

    handle = serve(tools_from(crowded))
    registered = handle.host.registry.commands["crowded"]
    assert isinstance(registered, Tool)
    metadata = registration_metadata(registered)
    assert len(metadata) <= 32
    assert sum(12 + len(k) + len(v) for k, v in metadata.items()) + 6 <= 4096
    assert {"language", "owner", "module"} <= set(metadata)


def test_callables_are_plain_functions_agents_can_read() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    info = {
        "name": "search",
        "description": "Search the catalogue.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "limit": {"type": ["integer", "null"], "default": 10},
                "exact": {"type": "boolean"},
            },
            "required": ["query"],
        },
    }

    def call(name: str, **kwargs: Any) -> str:
        calls.append((name, kwargs))
        return "ok"

    function = make_callable(call, info)
    assert function.__name__ == "search"
    assert function.__doc__ == "Search the catalogue.\n\nArgs:\n    query: What to look for"
    assert str(inspect.signature(function)) == "(*, query: str, limit: int = 10, exact: bool = None)"
    assert typing.get_type_hints(function) == {"query": str, "limit": int, "exact": bool}
    assert function(query="x") == "ok"
    assert function(query="y", exact=None, limit=3) == "ok"
    assert calls == [("search", {"query": "x"}), ("search", {"query": "y", "limit": 3})]  # left out: not sent
    with pytest.raises(TypeError):
        function(limit=1)  # query is required


def test_dspy_reads_the_callables() -> None:
    dspy = pytest.importorskip("dspy")
    info = {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 1}},
            "required": ["a"],
        },
    }
    parsed = dspy.Tool(make_callable(lambda name, **kw: kw["a"] + kw["b"], info))
    assert parsed.name == "add"
    assert set(parsed.args) == {"a", "b"}
    assert parsed.args["a"]["type"] == "integer"
    assert parsed(a=2, b=3) == 5
