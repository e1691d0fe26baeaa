"""BridgeService over a real server: sessions, dispatch, streaming, bad input."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host import Result, StreamChunk, TypedBuffer, VerbatimError, hookimpl
from snakepit_host._errors import NotFound
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host, wait_until

events: list[str] = []
release = threading.Event()


class Demo:
    """Commands of every shape, for the tests below."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("whoami", lambda ctx, params: {"session": ctx.session_id, "params": params})
        register.command("boom", self.boom)
        register.command("slow", self.slow, timeout=0.3)
        register.command("wait_for_release", self.wait_for_release)
        register.command("async_add", self.async_add)
        register.command("async_forever", self.async_forever)
        register.command("count", self.count)
        register.command("count_async", self.count_async)
        register.command("finish_early", self.finish_early)
        register.command("fail_midway", self.fail_midway)
        register.command("bad_item", self.bad_item)
        register.command("endless", self.endless)
        register.command("unserializable", lambda ctx, params: object())
        register.command("array", self.array)
        register.command("with_metadata", lambda ctx, params: Result({"ok": True}, metadata={"k": "v"}))
        register.command("not_found", self.not_found)

    @staticmethod
    def boom(ctx: Any, params: dict[str, Any]) -> None:
        raise ValueError("the input was unacceptable")

    @staticmethod
    def slow(ctx: Any, params: dict[str, Any]) -> str:
        time.sleep(2)
        return "too late"

    @staticmethod
    def wait_for_release(ctx: Any, params: dict[str, Any]) -> str:
        release.wait(10)
        return "released"

    @staticmethod
    async def async_add(ctx: Any, params: dict[str, Any]) -> int:
        await asyncio.sleep(0.01)
        return int(params["a"]) + int(params["b"])

    @staticmethod
    async def async_forever(ctx: Any, params: dict[str, Any]) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("async cancelled")
            raise

    @staticmethod
    def count(ctx: Any, params: dict[str, Any]) -> Iterator[dict[str, int]]:
        for i in range(int(params.get("n", 3))):
            yield {"i": i}

    @staticmethod
    async def count_async(ctx: Any, params: dict[str, Any]) -> Any:
        for i in range(int(params.get("n", 3))):
            await asyncio.sleep(0)
            yield i

    @staticmethod
    def finish_early(ctx: Any, params: dict[str, Any]) -> Iterator[Any]:
        yield "first"
        yield StreamChunk({"last": True}, is_final=True, metadata={"why": "done"})
        yield "never sent"

    @staticmethod
    def fail_midway(ctx: Any, params: dict[str, Any]) -> Iterator[Any]:
        yield 1
        raise RuntimeError("disk full")

    @staticmethod
    def bad_item(ctx: Any, params: dict[str, Any]) -> Iterator[Any]:
        yield 1
        yield object()

    @staticmethod
    def endless(ctx: Any, params: dict[str, Any]) -> Iterator[int]:
        i = 0
        try:
            while True:
                i += 1
                yield i
        finally:
            events.append(f"endless closed after {i}")

    @staticmethod
    def array(ctx: Any, params: dict[str, Any]) -> Any:
        import numpy

        return numpy.arange(int(params["n"]), dtype=numpy.float32)

    @staticmethod
    def not_found(ctx: Any, params: dict[str, Any]) -> None:
        raise NotFound("program 'p1' does not exist")


@pytest.fixture(scope="module")
def served() -> Iterator[RunningHost]:
    with running_host(Demo, session_ttl=60) as running:
        yield running


@pytest.fixture
def client(served: RunningHost) -> SnakepitClient:
    return served.client()


def test_ping(client: SnakepitClient) -> None:
    assert client.ping("hello") == "Pong from snakepit-host: hello"


def test_session_lifecycle_rpcs(served: RunningHost, client: SnakepitClient) -> None:
    stub = client.stub
    assert stub.InitializeSession(pb.InitializeSessionRequest(session_id="s-life", metadata={"a": "b"})).success
    got = stub.GetSession(pb.GetSessionRequest(session_id="s-life"))
    assert got.session_id == "s-life" and got.metadata == {"a": "b"} and got.created_at.seconds > 0
    assert stub.Heartbeat(pb.HeartbeatRequest(session_id="s-life")).session_valid
    cleaned = stub.CleanupSession(pb.CleanupSessionRequest(session_id="s-life"))
    assert cleaned.success and cleaned.resources_cleaned >= 1
    assert not stub.Heartbeat(pb.HeartbeatRequest(session_id="s-life")).session_valid
    assert not stub.CleanupSession(pb.CleanupSessionRequest(session_id="s-life")).success
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetSession(pb.GetSessionRequest(session_id="s-life"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND and "unknown session 's-life'" in (
        raised.value.details() or ""
    )


def test_invalid_session_id_is_refused(client: SnakepitClient) -> None:
    response = client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=""))
    assert not response.success and "session id must be a non-empty string" in response.error_message
    with pytest.raises(RemoteError, match="control characters"):
        client.call("whoami", session_id="bad\nid")


def test_sessions_are_created_on_first_use_and_session_id_parameter_wins(
    served: RunningHost, client: SnakepitClient
) -> None:
    assert client.call("whoami", {"x": 1}, session_id="from-request")["session"] == "from-request"
    routed = client.call("whoami", {"session_id": "from-params"}, session_id="from-request")
    assert routed["session"] == "from-params"
    assert served.host.sessions.get("from-params") is not None
    assert client.call("whoami")["session"] == "default_session"


def test_echo_returns_parameters_and_binary_unchanged(client: SnakepitClient) -> None:
    params = {"s": "text", "n": 3, "f": 1.25, "b": False, "nested": {"l": [1, None, "x"]}}
    assert client.call("echo", params) == params
    blob = bytes(range(256)) * 1000
    result = client.call_full("echo", {"tag": "t"}, binary={"blob": blob})
    assert result.binary == blob
    assert result.value == {"tag": "t"} and result.metadata["binary_parameter"] == "blob"


def test_echo_refuses_several_binaries_clearly(client: SnakepitClient) -> None:
    with pytest.raises(RemoteError, match="echo returns one binary parameter.*got 2: a, b"):
        client.call("echo", binary={"a": b"1", "b": b"2"})


def test_041_style_parameters(client: SnakepitClient) -> None:
    request = pb.ExecuteToolRequest(tool_name="echo", session_id="default_session")
    request.parameters["m"].CopyFrom(
        AnyMessage(type_url="type.googleapis.com/snakepit.string", value=json.dumps(json.dumps({"k": 1})).encode())
    )
    request.parameters["x"].CopyFrom(AnyMessage(type_url="type.googleapis.com/snakepit.float", value=b'"NaN"'))
    response = client.stub.ExecuteTool(request)
    assert response.success
    assert response.result.type_url == "type.googleapis.com/snakepit.map"
    assert json.loads(response.result.value) == {"m": {"k": 1}, "x": "NaN"}


def test_041_large_numeric_lists_that_lost_their_data_are_explained(client: SnakepitClient) -> None:
    """Snakepit 0.4.1 sends a list of over 1280 numbers as its description only (PROTOCOL.md §4.2)."""
    meta = {"binary_format": "erlang_binary", "dtype": "float32", "shape": [1281], "type": "embedding"}
    request = pb.ExecuteToolRequest(tool_name="echo", session_id="default_session")
    request.parameters["vector"].CopyFrom(
        AnyMessage(type_url="type.googleapis.com/snakepit.embedding.binary", value=json.dumps(meta).encode())
    )
    response = client.stub.ExecuteTool(request)
    assert not response.success
    assert response.error_message.startswith(
        "parameter 'vector': only the description of the embedding (shape [1281]) arrived, without its data "
        "(Snakepit 0.4.1 drops the bytes of numeric lists over 1280 elements in ExecuteTool parameters); "
        "send at most 1280 numbers per list"
    )
    assert response.metadata["error_status"] == "INVALID_ARGUMENT"
    with_bytes = pb.ExecuteToolRequest(tool_name="echo", binary_parameters={"vector": b"\x01\x02"})
    with_bytes.parameters["vector"].CopyFrom(request.parameters["vector"])
    assert client.stub.ExecuteTool(with_bytes).success  # the bytes came: the binary parameter is the value


def test_unknown_command_suggests_and_keeps_serving(client: SnakepitClient) -> None:
    with pytest.raises(RemoteError) as raised:
        client.call("eho")
    assert "unknown command 'eho'; did you mean echo?" in raised.value.message
    assert raised.value.metadata == {"error_type": "NotFound", "error_status": "NOT_FOUND"}
    assert client.call("echo", {"still": "alive"}) == {"still": "alive"}


def test_parameters_that_do_not_decode(client: SnakepitClient) -> None:
    request = pb.ExecuteToolRequest(tool_name="echo")
    request.parameters["broken"].CopyFrom(AnyMessage(type_url="type.googleapis.com/snakepit.map", value=b"{nope"))
    response = client.stub.ExecuteTool(request)
    assert not response.success
    assert response.error_message.startswith("parameter 'broken': value of type type.googleapis.com/snakepit.map")
    bad_binary = pb.ExecuteToolRequest(tool_name="echo", binary_parameters={"t": b"SPKB\x01\x05\x00\x00\x00{}"})
    response = client.stub.ExecuteTool(bad_binary)
    assert not response.success and response.error_message.startswith("binary parameter 't':")


def test_handler_errors_are_reported_without_tracebacks(client: SnakepitClient) -> None:
    response = client.stub.ExecuteTool(pb.ExecuteToolRequest(tool_name="boom"))
    assert not response.success
    assert response.error_message == "ValueError: the input was unacceptable"
    assert "Traceback" not in response.error_message
    assert response.metadata["error_status"] == "INVALID_ARGUMENT"
    with pytest.raises(RemoteError, match="^program 'p1' does not exist$"):
        client.call("not_found")
    assert client.call("echo", {"ok": 1}) == {"ok": 1}


def test_unserializable_result(client: SnakepitClient) -> None:
    with pytest.raises(RemoteError, match="result of 'unserializable' cannot be sent: .*object is not JSON"):
        client.call("unserializable")


def test_handler_past_its_timeout(client: SnakepitClient) -> None:
    with pytest.raises(RemoteError, match="slow timed out after 0.3 s"):
        client.call("slow")
    assert client.call("echo", {"after": "timeout"}) == {"after": "timeout"}


def test_async_handlers(client: SnakepitClient) -> None:
    assert client.call("async_add", {"a": 2, "b": 40}) == 42


def test_client_deadline_cancels_async_handler(client: SnakepitClient) -> None:
    events.clear()
    with pytest.raises(grpc.RpcError) as raised:
        client.stub.ExecuteTool(pb.ExecuteToolRequest(tool_name="async_forever"), timeout=0.3)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: "async cancelled" in events)


def test_streaming_framing(client: SnakepitClient) -> None:
    chunks = list(client.stub.ExecuteStreamingTool(pb.ExecuteToolRequest(tool_name="count", parameters={})))
    assert [c.chunk_id for c in chunks] == ["count-1", "count-2", "count-3", "count-4"]
    assert [json.loads(c.data) for c in chunks[:3]] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert [c.is_final for c in chunks] == [False, False, False, True] and chunks[-1].data == b""
    assert list(client.stream("count_async", {"n": 4})) == [0, 1, 2, 3]


def test_stream_item_marked_final_ends_the_stream(client: SnakepitClient) -> None:
    chunks = list(client.stub.ExecuteStreamingTool(pb.ExecuteToolRequest(tool_name="finish_early")))
    assert [(c.chunk_id, c.is_final) for c in chunks] == [
        ("finish_early-1", False),
        ("finish_early-2", False),
        ("finish_early-3", True),
    ]
    assert json.loads(chunks[1].data) == {"last": True} and chunks[2].metadata == {"why": "done"}


def test_errors_mid_stream_end_with_an_error_chunk(client: SnakepitClient) -> None:
    chunks = list(client.stub.ExecuteStreamingTool(pb.ExecuteToolRequest(tool_name="fail_midway")))
    assert len(chunks) == 2 and chunks[-1].is_final and chunks[-1].metadata["error"] == "true"
    assert json.loads(chunks[-1].data)["error"]["message"] == "RuntimeError: disk full"
    with pytest.raises(RemoteError, match="item 2 of bad_item cannot be encoded"):
        list(client.stream("bad_item"))


def test_streaming_errors_before_the_first_chunk_are_statuses(client: SnakepitClient) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(client.stub.ExecuteStreamingTool(pb.ExecuteToolRequest(tool_name="missing")))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_streaming_command_on_unary_endpoint(client: SnakepitClient) -> None:
    with pytest.raises(RemoteError, match="count is a streaming command; call it with ExecuteStreamingTool"):
        client.call("count")


def test_client_that_cancels_a_stream_closes_the_generator(client: SnakepitClient) -> None:
    events.clear()
    call = client.stub.ExecuteStreamingTool(pb.ExecuteToolRequest(tool_name="endless"))
    for index, _ in enumerate(call):
        if index == 5:
            break
    call.cancel()
    wait_until(lambda: any(e.startswith("endless closed") for e in events))
    closed_after = int(events[-1].rsplit(" ", 1)[1])
    assert closed_after < 1000, "the host ran far ahead of a reader that stopped"
    assert client.call("echo", {"after": "cancel"}) == {"after": "cancel"}


def test_arrays_and_metadata_in_results(client: SnakepitClient) -> None:
    small = client.call_full("array", {"n": 4})
    assert small.value == [0.0, 1.0, 2.0, 3.0] and small.binary is None
    big = client.call_full("array", {"n": 5000})
    assert big.value == {"binary": {"dtype": "float32", "shape": [5000], "nbytes": 20000}}
    assert isinstance(big.binary, TypedBuffer) and big.binary.to_numpy()[-1] == 4999.0
    assert client.call_full("with_metadata").metadata == {"k": "v"}


def test_plugin_rpcs_without_a_plugin_name_the_package(client: SnakepitClient) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        client.stub.GetVariable(pb.GetVariableRequest(session_id="s", variable_identifier="x"))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "comes with snakepit-variables, which is installed but not loaded by this host" in (
        raised.value.details() or ""
    )
    with pytest.raises(grpc.RpcError) as raised:
        list(client.stub.WatchVariables(pb.WatchVariablesRequest(session_id="s")))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health(client: SnakepitClient) -> None:  # reflection: test_reflection.py
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    health = health_pb2_grpc.HealthStub(client.channel)
    for service in ("", "snakepit.bridge.BridgeService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service)).status
        assert status == health_pb2.HealthCheckResponse.SERVING


def test_describe_lists_everything(client: SnakepitClient) -> None:
    info = client.call("describe")
    assert info["host"]["hook_api"] == "2.0"
    names = {c["name"] for c in info["commands"]}
    assert {"ping", "echo", "describe", "count", "slow"} <= names
    slow = next(c for c in info["commands"] if c["name"] == "slow")
    assert slow["timeout"] == 0.3 and slow["owner"] == "Demo"
    assert {p["name"] for p in info["plugins"]} >= {"core", "Demo"}


def test_oversized_messages_are_refused_and_the_host_keeps_serving() -> None:
    with running_host(max_message_bytes=64 * 1024) as running:
        client = running.client()
        with pytest.raises(grpc.RpcError) as raised:
            client.call("echo", binary={"big": b"x" * (200 * 1024)})
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert client.call("echo", {"small": 1}) == {"small": 1}


def test_oversized_results_are_refused_in_words() -> None:
    class Big:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            register.command("big", lambda ctx, params: b"x" * 100_000)
            register.command("big_stream", lambda ctx, params: iter([b"ok", b"x" * 100_000]), streaming=True)

    with running_host(Big, max_message_bytes=64 * 1024) as running:
        client = running.client()
        with pytest.raises(RemoteError, match="the result of big is 100\\d+ bytes, over the message limit of 65536"):
            client.call("big")
        with pytest.raises(RemoteError, match="item 2 of big_stream is 100\\d+ bytes, over the message limit"):
            list(client.stream("big_stream"))
        assert client.call("echo", {"small": 1}) == {"small": 1}


def test_json_error_format_for_snakepit_013() -> None:
    with running_host(Demo, error_format="json") as running:
        response = running.client().stub.ExecuteTool(pb.ExecuteToolRequest(tool_name="boom", session_id="w1"))
    payload = json.loads(response.error_message)
    assert payload["type"] == "ValueError" and payload["message"] == "ValueError: the input was unacceptable"
    assert payload["context"] == {"tool_name": "boom", "session_id": "w1"} and payload["stacktrace"] == []


def test_idle_sessions_expire_but_not_under_a_running_call() -> None:
    closed: list[tuple[str, str]] = []

    class Watch:
        @hookimpl
        def session_closed(self, session: Any, reason: str) -> None:
            closed.append((session.id, reason))

    release.clear()
    with running_host(Demo, Watch, session_ttl=0.2) as running:
        client = running.client()
        client.call("echo", session_id="idle")
        worker = threading.Thread(target=client.call, args=("wait_for_release",), kwargs={"session_id": "busy"})
        worker.start()
        wait_until(lambda: ("idle", "expired") in closed)
        time.sleep(0.5)
        assert running.host.sessions.get("busy") is not None, "a session expired under a running call"
        release.set()
        worker.join(5)
        wait_until(lambda: ("busy", "expired") in closed)


def test_stream_telemetry_reports_tool_calls(served: RunningHost, client: SnakepitClient) -> None:
    """Snakepit 0.13 opens StreamTelemetry per worker; headers come at once, then events."""
    controls: queue.Queue[pb.TelemetryControl | None] = queue.Queue()
    controls.put(pb.TelemetryControl(toggle=pb.TelemetryToggle(enabled=True)))
    controls.put(pb.TelemetryControl(filter=pb.TelemetryEventFilter(deny=["tool.result_size"])))

    def control_stream() -> Iterator[pb.TelemetryControl]:
        while (item := controls.get()) is not None:
            yield item

    call = client.stub.StreamTelemetry(control_stream())
    assert call.initial_metadata() is not None  # headers arrive before any event
    wait_until(lambda: served.host.telemetry.active, "the stream to be attached")
    wait_until(lambda: served.host.telemetry._streams[0].deny == ["tool.result_size"], "the filter to apply")
    client.call("echo", {"x": 1}, metadata={"correlation_id": "c-1"})
    with pytest.raises(RemoteError):
        client.call("boom")
    events = [next(call) for _ in range(4)]
    names = [".".join(e.event_parts) for e in events]
    assert names == ["tool.execution.start", "tool.execution.stop", "tool.execution.start", "tool.execution.exception"]
    assert events[1].correlation_id == "c-1" and events[1].metadata["tool"] == "echo"
    assert events[1].measurements["duration_ms"].float_value >= 0
    assert events[3].metadata["error_type"] == "ValueError"
    controls.put(pb.TelemetryControl(toggle=pb.TelemetryToggle(enabled=False)))
    controls.put(None)
    call.cancel()
    wait_until(lambda: not served.host.telemetry.active, "the stream to detach")


class Verbatim:
    """Handlers speaking another server's error convention (snakepit-adapters reproduces Snakepit's)."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("foreign_error", self.fail)
        register.command("foreign_stream", self.stream, streaming=True)

    @staticmethod
    def fail(ctx: Any, params: dict[str, Any]) -> Any:
        raise VerbatimError('{"type": "ValueError"}', error_type="ValueError")

    @staticmethod
    def stream(ctx: Any, params: dict[str, Any]) -> Iterator[Any]:
        yield {"streaming": ctx.streaming}
        raise VerbatimError("their own words", status="INTERNAL")


def test_verbatim_errors_are_sent_unchanged() -> None:
    with running_host(Verbatim(), error_format="json") as running:
        client = running.client()
        response = client.stub.ExecuteTool(client.request("foreign_error"), timeout=10)
        assert (response.success, response.error_message) == (False, '{"type": "ValueError"}'), "no JSON wrapping"
        assert response.metadata["error_type"] == "ValueError"
        received: list[bytes] = []
        with pytest.raises(grpc.RpcError) as raised:
            for chunk in client.stub.ExecuteStreamingTool(client.request("foreign_stream", stream=True), timeout=10):
                received.append(chunk.data)
        assert received == [b'{"streaming":true}'], "the chunk sent before the error stays sent"
        assert (raised.value.code(), raised.value.details()) == (grpc.StatusCode.INTERNAL, "their own words")


class SessionScoped:
    """A plugin RPC, a session attribute and the session lifecycle hooks, as a plugin author writes them."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.closed: list[tuple[str, str]] = []

    @hookimpl
    def register_rpcs(self, register: Any) -> None:
        register.rpc("GetVariable", self.get_variable)

    @staticmethod
    def get_variable(request: pb.GetVariableRequest, call: Any) -> pb.GetVariableResponse:
        session = call.session(request.session_id)  # NotFound for an unknown session
        visits = len(session.state("scoped.visits", list))
        return pb.GetVariableResponse(variable=pb.Variable(name=request.variable_identifier, version=visits))

    @hookimpl
    def register_session_attributes(self, register: Any) -> None:
        register.session_attribute("visits", lambda ctx: ctx.session.state("scoped.visits", list))

    @hookimpl
    def register_commands(self, register: Any) -> None:
        def visit(ctx: Any, params: dict[str, Any]) -> int:
            ctx.visits.append(params.get("who"))
            return len(ctx.visits)

        register.command("visit", visit)

    @hookimpl
    async def session_created(self, session: Any, host: Any) -> None:
        self.created.append(session.id)

    @hookimpl
    def session_closed(self, session: Any, reason: str) -> None:
        self.closed.append((session.id, reason))


def test_plugin_rpcs_session_attributes_and_session_hooks() -> None:
    plugin = SessionScoped()
    with running_host(plugin) as running:
        client = running.client()
        assert [client.call("visit", {"who": w}, session_id="s1") for w in "ab"] == [1, 2]
        assert client.call("visit", {}, session_id="s2") == 1
        answer = client.stub.GetVariable(pb.GetVariableRequest(session_id="s1", variable_identifier="v"))
        assert (answer.variable.name, answer.variable.version) == ("v", 2)
        with pytest.raises(grpc.RpcError) as raised:
            client.stub.GetVariable(pb.GetVariableRequest(session_id="nobody", variable_identifier="v"))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        assert client.stub.CleanupSession(pb.CleanupSessionRequest(session_id="s1")).success
        assert plugin.created == ["s1", "s2"] and plugin.closed == [("s1", "cleanup")]
        assert running.host.describe()["rpcs"]["GetVariable"] == "SessionScoped"
    assert ("s2", "shutdown") in plugin.closed


def test_describe_shows_the_status_of_each_per_host_state_object() -> None:
    class Counter:
        def status(self) -> dict[str, int]:
            return {"calls": 3}

    with running_host() as running:
        counter = running.host.state("counter", Counter)
        assert running.host.state("counter", Counter) is counter  # one object per key and host
        running.host.state("cache", dict)  # no status(): kept, not shown
        assert running.client().call("describe")["status"] == {"counter": {"calls": 3}}
        assert running.host.status == {"counter": {"calls": 3}}
