"""Correlation ids on every log record of a call, log formats, call statistics, call observers and null spans.

Over real gRPC: in-process hosts for the records (pytest's caplog sees what
every handler would), a host subprocess for what reaches stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from hostproc import GRPC_SERVER, HostProcess

from snakepit_host import codec, current_call, hookimpl, span, tracing
from snakepit_host._calls import CURRENT, NULL_SPAN, CallScope
from snakepit_host._stats import MAX_COMMANDS, OTHER, CallStats
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host, wait_until

SP_ID = "sp-0123456789abcdef01234567"
user_log = logging.getLogger("user.code")


class Logging:
    """Commands that log from the gRPC thread, the async loop, the timed helper thread, and a stream."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        def plain(ctx: Any, params: dict[str, Any]) -> str:
            user_log.info("plain says %s", params.get("word"))
            return "ok"

        async def asynchronous(ctx: Any, params: dict[str, Any]) -> str:
            await asyncio.sleep(0)
            user_log.info("async says hi")
            return "ok"

        def timed(ctx: Any, params: dict[str, Any]) -> str:
            user_log.info("timed runs in %s", threading.current_thread().name)
            return "ok"

        def failing(ctx: Any, params: dict[str, Any]) -> None:
            raise ValueError("broken on purpose")

        def chunks(ctx: Any, params: dict[str, Any]) -> Iterator[int]:
            for n in range(3):
                user_log.info("chunk %d", n)
                yield n

        def who(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            call = current_call()
            assert call is not None
            return {"correlation_id": call.correlation_id, "command": call.command, "session_id": call.session_id}

        register.command("plain", plain)
        register.command("asynchronous", asynchronous)
        register.command("timed", timed, timeout=5)
        register.command("failing", failing)

        def endless(ctx: Any, params: dict[str, Any]) -> Iterator[int]:
            n = 0
            while True:
                yield n
                n += 1
                time.sleep(0.01)

        register.command("chunks", chunks)
        register.command("endless", endless)
        register.command("who", who)


@pytest.fixture
def logging_host() -> Iterator[RunningHost]:
    with running_host(Logging()) as running:
        yield running


def records_of(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def decode_result(response: pb.ExecuteToolResponse) -> Any:
    assert response.success, response.error_message
    return codec.decode_any(response.result)


def call_with(address: str, name: str, metadata: dict[str, str], headers: tuple[tuple[str, str], ...] = ()) -> Any:
    with grpc.insecure_channel(address) as channel:
        stub = channel.unary_unary(
            "/snakepit.bridge.BridgeService/ExecuteTool",
            request_serializer=pb.ExecuteToolRequest.SerializeToString,
            response_deserializer=pb.ExecuteToolResponse.FromString,
        )
        request = pb.ExecuteToolRequest(tool_name=name, session_id="worker_session", metadata=metadata)
        return stub(request, metadata=headers, timeout=10)


@pytest.mark.parametrize(
    ("name", "text"), [("plain", "plain says"), ("asynchronous", "async says"), ("timed", "timed runs")]
)
def test_records_carry_the_calls_correlation_id_command_and_session(
    logging_host: RunningHost, caplog: pytest.LogCaptureFixture, name: str, text: str
) -> None:
    caplog.set_level(logging.INFO)
    client = logging_host.client()
    client.call(name, {"word": "x", "session_id": "user_session"}, metadata={"correlation_id": SP_ID})
    (record,) = records_of(caplog, text)
    assert (record.correlation_id, record.command, record.session_id) == (SP_ID, name, "user_session")  # type: ignore[attr-defined]
    if name == "timed":
        assert "snakepit-timed" in record.getMessage()  # it ran on the host's helper thread


def test_the_hosts_own_failure_line_and_every_stream_line_carry_it(
    logging_host: RunningHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = logging_host.client()
    with pytest.raises(RemoteError):
        client.call("failing", metadata={"correlation_id": SP_ID})
    (failure,) = records_of(caplog, "failing failed")
    assert failure.correlation_id == SP_ID and failure.name == "snakepit_host.server"  # type: ignore[attr-defined]
    assert list(client.stream("chunks", metadata={"correlation_id": "sp-stream"})) == [0, 1, 2]
    lines = records_of(caplog, "chunk ")
    assert [r.correlation_id for r in lines] == ["sp-stream"] * 3  # type: ignore[attr-defined]


def test_header_id_when_metadata_has_none_and_a_made_id_otherwise(logging_host: RunningHost) -> None:
    who = call_with(logging_host.address, "who", {}, (("x-snakepit-correlation-id", "sp-from-header"),))
    assert decode_result(who)["correlation_id"] == "sp-from-header"
    made = decode_result(call_with(logging_host.address, "who", {}))
    assert re.fullmatch(r"[0-9a-f]{32}", made["correlation_id"]), made
    assert made["session_id"] == "worker_session" and made["command"] == "who"
    hostile = decode_result(call_with(logging_host.address, "who", {"correlation_id": "a\nb c" + "x" * 500}))
    assert hostile["correlation_id"] == "a?b?c" + "x" * 123  # one line, at most 128 characters


def test_outside_calls_records_say_so_and_the_context_is_cleared(
    logging_host: RunningHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    logging_host.client().call("plain", metadata={"correlation_id": SP_ID})
    user_log.info("after the call")
    (record,) = records_of(caplog, "after the call")
    assert (record.correlation_id, record.command) == ("-", "")  # type: ignore[attr-defined]
    assert current_call() is None


def test_text_and_json_formats_on_stderr(tmp_path: Any) -> None:
    for log_format in ("text", "json"):
        host = HostProcess(
            [sys.executable, str(GRPC_SERVER), "--port", "0", "--plugins", "", "--log-format", log_format],
            env={"SNAKEPIT_LOG_LEVEL": "info"},
        )
        try:
            port = host.wait_ready()
            with SnakepitClient(f"127.0.0.1:{port}") as client, pytest.raises(RemoteError):
                client.call("nope", metadata={"correlation_id": SP_ID})
        finally:
            host.process.terminate()
            host.wait()
        lines = [line for line in host.stderr.splitlines() if "nope" in line]
        assert len(lines) == 1, host.stderr
        if log_format == "text":
            assert f"[corr={SP_ID} cmd=nope session=default_session]: nope failed: unknown command" in lines[0]
            continue
        objects = [json.loads(line) for line in host.stderr.splitlines()]  # every line is one JSON object
        (failure,) = [o for o in objects if o.get("command") == "nope"]
        assert failure["correlation_id"] == SP_ID and failure["session_id"] == "default_session"
        assert failure["level"] == "INFO" and failure["logger"] == "snakepit_host.server"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", failure["time"])
        assert any("serving on" in o["message"] and "correlation_id" not in o for o in objects)


def test_a_bad_log_format_is_a_usage_error() -> None:
    env = {"SNAKEPIT_LOG_FORMAT": "xml", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "snakepit_host", "plugins"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "SNAKEPIT_LOG_FORMAT is 'xml', not text or json" in done.stderr


# ---------------------------------------------------------------- stats


def test_stats_counts_calls_errors_latencies_streams_and_sessions(logging_host: RunningHost) -> None:
    client = logging_host.client()
    for _ in range(20):
        client.call("plain")
    with pytest.raises(RemoteError):
        client.call("failing")
    assert list(client.stream("chunks", session_id="s2")) == [0, 1, 2]
    # The client has the final chunk a moment before the server's generator ends and counts the stream.
    wait_until(lambda: logging_host.host.call_stats.snapshot()["streams"]["ExecuteStreamingTool"]["ended"], "the end")
    report = client.call("stats")
    plain = report["commands"]["plain"]
    assert (plain["calls"], plain["errors"]) == (20, 0)
    assert 0 < plain["p50_ms"] <= plain["p90_ms"] <= plain["p99_ms"] <= plain["max_ms"]
    assert report["commands"]["failing"] == {**report["commands"]["failing"], "calls": 1, "errors": 1}
    assert report["commands"]["chunks"]["calls"] == 1
    assert report["streams"]["ExecuteStreamingTool"] == {"open": 0, "ended": 1}
    assert report["calls"] == 22 and report["errors"] == 1  # this stats call is counted once it has ended
    assert report["sessions"]["live"] == 2 and report["host"]["rss_bytes"] > 10 * 2**20
    assert report["host"]["uptime_seconds"] > 0 and report["observers"] == []


def test_a_stream_the_client_leaves_midway_counts_as_failed(logging_host: RunningHost) -> None:
    client = logging_host.client()
    request = client.request("endless", {}, stream=True)
    replies = client.stub.ExecuteStreamingTool(request, timeout=10)
    next(replies)
    replies.cancel()
    stats = logging_host.host.call_stats
    wait_until(lambda: stats.snapshot()["streams"]["ExecuteStreamingTool"]["ended"] == 1, "the stream's end")
    assert stats.snapshot()["commands"]["endless"] == {**stats.snapshot()["commands"]["endless"], "errors": 1}


def test_stats_percentiles_and_the_cap_on_names() -> None:
    stats = CallStats()
    for micros in range(1, 1001):  # 1 us .. 1 ms, uniform
        stats.record("uniform", micros / 1e6, ok=micros % 100 != 0)
    summary = stats.snapshot()["commands"]["uniform"]
    assert summary["errors"] == 10
    for key, expected in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
        assert abs(summary[key] - expected) / expected < 0.05, (key, summary)
    assert summary["max_ms"] == 1.0
    for n in range(MAX_COMMANDS + 50):
        stats.record(f"name{n}", 0.001, ok=True)
    commands = stats.snapshot()["commands"]
    assert len(commands) == MAX_COMMANDS + 1 and commands[OTHER]["calls"] == 51


def test_stats_cli_prints_a_table_and_json(logging_host: RunningHost) -> None:
    logging_host.client().call("plain")
    command = [sys.executable, "-m", "snakepit_host", "stats", "--address", logging_host.address]
    table = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    assert re.search(r"^plain\s+1\s+0\s", table, re.M), table
    assert "sessions: 1 live" in table and "RSS" in table
    report = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60).stdout)
    assert report["commands"]["plain"]["calls"] == 1
    gone = subprocess.run([*command[:-1], "127.0.0.1:1", "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1 and "UNAVAILABLE" in gone.stderr and "127.0.0.1:1" in gone.stderr


# ---------------------------------------------------------------- observers and spans


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def call_started(self, call: CallScope) -> Callable[[CallScope], None]:
        self.events.append(("started", (call.rpc, call.command, call.correlation_id, current_call() is call)))
        return self.ended

    def ended(self, call: CallScope) -> None:
        self.events.append(
            (
                "ended",
                (call.command, call.success, call.error_type, call.request_bytes, call.response_bytes, call.chunks),
            )
        )


class Broken:
    def call_started(self, call: CallScope) -> None:
        raise RuntimeError("observer bug")


class Observing:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.recorder = Recorder()

    @hookimpl
    def register_call_observers(self, register: Any) -> None:
        register.call_observer("recorder", lambda host: self.recorder if self.enabled else None)
        register.call_observer("broken", lambda host: Broken() if self.enabled else None)


def test_observers_hear_start_and_end_with_sizes_and_outcome(caplog: pytest.LogCaptureFixture) -> None:
    observing = Observing(enabled=True)
    with running_host(Logging(), observing) as running:
        assert [owner for owner, _ in running.host.observers] == ["Observing", "Observing"]
        client = running.client()
        assert client.call("echo", {"text": "hello"}, metadata={"correlation_id": SP_ID}) == {"text": "hello"}
        with pytest.raises(RemoteError):
            client.call("failing")
        assert list(client.stream("chunks")) == [0, 1, 2]
        wait_until(lambda: len(observing.recorder.events) == 6, "the stream's end")
    events = observing.recorder.events
    assert events[0] == ("started", ("ExecuteTool", "echo", SP_ID, True))
    assert events[1][0] == "ended" and events[1][1][:3] == ("echo", True, None)
    assert events[1][1][3] == len('"hello"') and events[1][1][4] > 0
    assert events[3][1][:3] == ("failing", False, "ValueError")
    assert events[4][1][:2] == ("ExecuteStreamingTool", "chunks")
    assert events[5][1][0] == "chunks" and events[5][1][1] is True and events[5][1][5] == 4  # 3 items + final
    warnings = [r for r in caplog.records if "observer bug" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once, and the calls went on


def test_disabled_observers_leave_the_call_path_alone() -> None:
    observing = Observing(enabled=False)
    with running_host(observing) as running:
        assert running.host.observers == ()
        running.client().call("ping")
        listing = {r["name"]: r for r in running.host.plugins.listing()}
        assert listing["Observing"]["provides"]["call_observers"] == ["broken", "recorder"]
    assert observing.recorder.events == []


def test_a_failing_observer_factory_is_reported_and_calls_go_on(caplog: pytest.LogCaptureFixture) -> None:
    class FailingFactory:
        @hookimpl
        def register_call_observers(self, register: Any) -> None:
            register.call_observer("exploding", lambda host: 1 / 0)

    with running_host(FailingFactory()) as running:
        assert running.host.observers == ()
        assert running.client().call("echo", {"a": 1}) == {"a": 1}
        record = running.host.plugins.records["FailingFactory"]
        assert record.runtime_errors == [
            "call observer 'exploding' could not start: ZeroDivisionError: division by zero"
        ]
    assert any("calls are served without it" in r.getMessage() for r in caplog.records)


class Spanning:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        def spans(ctx: Any, params: dict[str, Any]) -> bool:
            with span("child", {"a": 1}, kind="client") as current:
                current.set_attribute("k", "v")
                return current is NULL_SPAN and not tracing()

        register.command("spans", spans)


def test_span_is_one_shared_null_object_when_nothing_traces() -> None:
    assert span("outside", {"a": 1}) is NULL_SPAN and not tracing() and CURRENT.get() is None
    with running_host(Spanning()) as running:
        assert running.client().call("spans") is True
