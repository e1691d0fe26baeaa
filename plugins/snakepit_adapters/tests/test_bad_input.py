"""Misbehaving adapters: each gets a clear error for its call, and the host keeps serving."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from snakepit_adapters import encoding

Serve = Callable[..., Any]
MISBEHAVING = "bad_adapters.Misbehaving"
TUPLE_KEY_ERROR = (
    "Dict key must be str"  # orjson, which Snakepit 0.13 uses when it is installed
    if encoding._orjson() is not None
    else "keys must be str, int, float, bool or None, not tuple"
)


def test_a_tool_that_raises(serve: Serve) -> None:
    served = serve(MISBEHAVING, version="0.4")
    assert served.error("explode", {"message": "kaboom"}, session_id="s") == "kaboom"
    assert sys.modules["bad_adapters"].CLEANED[-1] == "s", "cleanup() runs after the failure"
    modern = serve(MISBEHAVING, options={"adapter_protocol": "0.13"})
    error = json.loads(modern.error("explode"))
    assert (error["type"], error["message"]) == ("RuntimeError", "kaboom")
    assert modern.client.call("echo", {"alive": True}) == {"alive": True}


@pytest.mark.parametrize(
    ("protocol", "tool", "params", "expected"),
    [
        ("0.4", "unencodable", {}, "Object of type set is not JSON serializable"),
        ("0.13", "unencodable", {"tuple_key": True}, TUPLE_KEY_ERROR),
        ("0.13", "huge", {}, "int too large to convert to float"),
    ],
)
def test_a_result_snakepit_could_not_encode(
    serve: Serve, protocol: str, tool: str, params: dict[str, Any], expected: str
) -> None:
    served = serve(MISBEHAVING, options={"adapter_protocol": protocol})
    message = served.error(tool, params)
    text = message if protocol == "0.4" else json.loads(message)["message"]
    assert expected in text, message
    assert served.client.call("echo", {"alive": True}) == {"alive": True}


def test_a_013_set_inside_a_result_becomes_a_marker_not_an_error(serve: Serve) -> None:
    served = serve(MISBEHAVING, options={"adapter_protocol": "0.13"})
    assert served.result("unencodable")[1] == {"tags": {"__ffi_unserializable__": True, "__type__": "builtins.set"}}


def test_a_tool_that_hangs_past_the_call_timeout(serve: Serve) -> None:
    served = serve(MISBEHAVING, version="0.4", call_timeout=0.3)
    started = time.monotonic()
    assert served.error("hang", {"seconds": 1.5}) == "hang timed out after 0.3 s"
    assert time.monotonic() - started < 1.0, "answered at the deadline, not when the tool returned"
    assert served.client.call("echo", {"alive": True}) == {"alive": True}, "other commands are served meanwhile"
    busy = served.error("explode", {"message": "queued"})
    assert busy.startswith(
        "Misbehaving is not thread-safe (no __thread_safe__), so its calls run one at a time, and "
        "the call of 'hang' (running for "
    ), busy
    time.sleep(1.3)
    assert served.error("explode", {"message": "after"}) == "after", "its turn comes once the hung call returns"


def test_a_tool_that_hangs_past_the_callers_deadline(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    served = serve(MISBEHAVING, version="0.4")
    request = served.client.request("hang", {"seconds": 0.6})
    with pytest.raises(grpc.RpcError) as raised:
        served.client.stub.ExecuteTool(request, timeout=0.2)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    queued: list[str] = []
    waiter = threading.Thread(target=lambda: queued.append(served.error("explode", {"message": "x"})))
    waiter.start()
    waiter.join(10)
    assert queued == ["x"], "the next call waits its turn and is served"
    assert re.search(r"Misbehaving: 'hang' returned \d+\.\d s after its caller's deadline", caplog.text), caplog.text


@pytest.mark.parametrize("protocol", ["0.4", "0.13"])
def test_a_stream_that_yields_garbage(serve: Serve, protocol: str) -> None:
    served = serve(MISBEHAVING, options={"adapter_protocol": protocol})
    received: list[bytes] = []
    request = served.client.request("garbage_stream", stream=True)
    with pytest.raises(grpc.RpcError) as raised:
        for chunk in served.client.stub.ExecuteStreamingTool(request, timeout=10):
            received.append(chunk.data)
    assert received == [b'{"ok": 1}'], "what was sent stays sent"
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    text = details if protocol == "0.4" else json.loads(details)["message"]
    assert text == "Object of type object is not JSON serializable"
    assert served.client.call("echo", {"alive": True}) == {"alive": True}


def test_a_stream_that_raises_midway(serve: Serve) -> None:
    served = serve(MISBEHAVING, options={"adapter_protocol": "0.13"})
    request = served.client.request("broken_stream", stream=True)
    with pytest.raises(grpc.RpcError) as raised:
        list(served.client.stub.ExecuteStreamingTool(request, timeout=10))
    payload = json.loads(raised.value.details() or "")
    assert (payload["type"], payload["message"]) == ("ValueError", "stream broke")


def test_a_long_stack_trace_still_arrives_as_whole_json(serve: Serve) -> None:
    served = serve(MISBEHAVING, options={"adapter_protocol": "0.13"})
    request = served.client.request("deep_failure_stream", stream=True)
    with pytest.raises(grpc.RpcError) as raised:
        list(served.client.stub.ExecuteStreamingTool(request, timeout=10))
    details = raised.value.details() or ""
    payload = json.loads(details)  # cut to the status-message limit, yet still JSON
    assert (payload["type"], payload["message"]) == ("RecursionError", "gave up at the bottom")
    assert "raise RecursionError" in payload["traceback"], "the innermost frames are the ones kept"
    assert len(details.encode()) <= 4096


def test_a_failing_cleanup_is_logged_and_the_result_stands(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    served = serve("bad_adapters.CleanupFails", version="0.4")
    assert served.error("explode", {"message": "first"}) == "first"
    assert served.result("hang", {"seconds": 0}) == ("string", "woke up")
    assert caplog.text.count("CleanupFails.cleanup() failed: OSError: cleanup failed") == 2
