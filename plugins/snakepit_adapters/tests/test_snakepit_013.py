"""Snakepit 0.13-style adapters over real gRPC: results, errors, streams, lifecycle, tool announcement."""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from snakepit_host.testing import wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

Serve = Callable[..., Any]

SHOWCASE = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"


def test_showcase_results_are_encoded_as_snakepit_013_encodes_them(serve: Serve) -> None:
    served = serve(SHOWCASE)
    assert served.result("add", {"a": 2, "b": 3}) == ("float", 5.0), "0.13 sends integers as floats"
    assert served.result("echo", {"x": {"y": [1, 2]}}) == ("map", {"echoed": {"x": {"y": [1, 2]}}})
    assert served.result("process_text", {"text": "Snake"})[1]["result"] == "SNAKE"
    kind, pong = served.result("ping", {"message": "hi"})
    assert kind == "map" and pong["status"] == "ok", "ping is the host's own: plugins' names beat execute_tool"


def test_showcase_errors_are_snakepit_013_json(serve: Serve) -> None:
    served = serve(SHOWCASE)
    error = json.loads(served.error("error_demo", {"error_type": "value"}, session_id="s1"))
    assert list(error) == ["type", "message", "stacktrace", "traceback", "context"]
    assert (error["type"], error["message"]) == ("ValueError", "This is a demonstration ValueError")
    assert error["context"] == {"tool_name": "error_demo", "session_id": "s1"}
    assert error["traceback"] == "".join(error["stacktrace"]) and "error_demo" in error["traceback"]
    unknown = json.loads(served.error("nonexistent_tool"))
    assert (unknown["type"], unknown["message"]) == (
        "AttributeError",
        "Tool 'nonexistent_tool' not found in ShowcaseAdapter",
    )


def test_callsite_context_comes_from_the_arguments(serve: Serve) -> None:
    served = serve("snakebridge_adapter.SnakeBridgeAdapter")
    params = {"library": "math", "function": "nope", "call_type": "function", "python_module": "math"}
    error = json.loads(served.error("snakebridge.call", params))
    assert error["type"] == "AttributeError"
    assert error["context"] == {
        "tool_name": "snakebridge.call",
        "session_id": "default_session",
        "library": "math",
        "python_module": "math",
        "function": "nope",
        "call_type": "function",
    }


def test_streams_carry_snakepit_013_chunks(serve: Serve) -> None:
    served = serve(SHOWCASE)
    chunks = served.chunks("stream_progress", {"steps": 3, "delay_ms": 0})
    payloads = [json.loads(data) for _, data, _, _ in chunks if data]
    assert [p["step"] for p in payloads] == [1, 2, 3]
    assert chunks[-1][2] and not chunks[-1][1], "exactly one terminal chunk"
    assert [c[0] for c in chunks] == [
        "stream_progress-1",
        "stream_progress-2",
        "stream_progress-3",
        "stream_progress-4",
    ]
    pings = [json.loads(data) for _, data, _, _ in served.chunks("ping") if data]
    assert [p["status"] for p in pings] == ["ok"], "ping is the host's own command: one JSON chunk"


def test_a_plain_result_streams_like_snakepit_013(serve: Serve) -> None:
    served = serve(SHOWCASE)
    # execute_tool's dict result is iterated: its keys, sent as raw strings (0.13 does not JSON-quote str).
    assert [data for _, data, _, _ in served.chunks("adapter_info") if data] == [
        b"adapter_name",
        b"version",
        b"capabilities",
        b"handlers",
    ]
    assert [data for _, data, _, _ in served.chunks("add", {"a": 1, "b": 2}) if data] == [b"3"]


def test_chunk_flags_and_metadata_of_items_are_kept(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    chunks = served.chunks("flagged", {"count": 2})
    assert chunks[0][1:] == (b'{"index": 0}', False, {"index": "0"})
    assert json.loads(chunks[1][1]) == {"index": 1} and chunks[-1][2]


def test_async_generator_tools_stream(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    payloads = [json.loads(data) for _, data, _, _ in served.chunks("countdown", {"start": 3}) if data]
    assert payloads == [{"n": 3}, {"n": 2}, {"n": 1}]


def test_a_generator_on_the_unary_endpoint_answers_as_snakepit_does(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    assert served.result("countdown", {"start": 2}) == (
        "map",
        {"error": "Streaming tool called on non-streaming endpoint."},
    )


def test_tools_without_execute_tool_are_called_directly_with_the_lifecycle(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    events = sys.modules["modern_adapter"].EVENTS
    events.clear()
    assert served.result("add", {"a": 1.5}) == ("float", 2.5)
    assert events == ["init", "context", "initialize", "cleanup"]
    assert served.result("square_later", {"x": 7}) == ("float", 49.0)
    greeting = served.result("greet", {"name": "Ada", "mood": "sunny"}, session_id="s2")[1]
    assert greeting == {"text": "hello Ada!", "extra": {"mood": "sunny"}, "session": "s2"}


def test_cleanup_runs_when_the_tool_fails(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    events = sys.modules["modern_adapter"].EVENTS
    events.clear()
    error = json.loads(served.error("fail"))
    assert (error["type"], error["message"]) == ("KeyError", "'analyze_text'")
    assert events[-1] == "cleanup"


def test_declared_tools_are_commands_with_their_metadata_and_a_true_schema(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    commands = {c["name"]: c for c in served.running.host.describe()["commands"]}
    greet = commands["greet"]
    assert greet["owner"] == "ModernAdapter" and greet["description"] == "Greet"
    assert greet["metadata"] == {
        "adapter_class": "ModernAdapter",
        "module": "modern_adapter",
        "required_variables": "greeting",
    }
    assert greet["parameters"] == {
        "type": "object",
        "properties": {
            "name": {"x-snakepit-type": "str", "type": "string"},
            "punctuation": {"x-snakepit-type": "str", "type": "string", "default": "!"},
        },
        "additionalProperties": True,
        "required": ["name"],
    }
    assert commands["add"]["parameters"]["additionalProperties"] is False
    assert commands["countdown"]["streaming"] and commands["square_later"]["description"] == (
        "Square a number after yielding to the loop."
    )
    showcase = serve(SHOWCASE)
    process = next(c for c in showcase.running.host.describe()["commands"] if c["name"] == "process_text")
    assert process["parameters"] == {
        "type": "object",
        "properties": {"text": {"x-snakepit-type": "str"}, "operation": {"x-snakepit-type": "str"}},
        "additionalProperties": True,
    }, "execute_tool takes any arguments, so the schema constrains nothing"


def test_tools_are_announced_to_elixir_once_per_session_as_snakepit_announces_them(
    serve: Serve, elixir_standin: ElixirStandIn
) -> None:
    served = serve(SHOWCASE, elixir_address=elixir_standin.address)
    for _ in range(3):
        served.result("add", {"a": 1, "b": 1}, session_id="worker-session")
    served.result("add", {"a": 1, "b": 1}, session_id="other")
    announcements = elixir_standin.calls("RegisterTools")
    assert [a.session_id for a in announcements] == ["worker-session", "other"]
    request = announcements[0]
    assert request.worker_id.startswith("python-")
    names = [t.name for t in request.tools]
    assert names == ["adapter_info", "basic_add", "echo", "process_text", "stream_data", "execute_tool"]
    process = next(t for t in request.tools if t.name == "process_text")
    assert [(p.name, p.type, p.required, p.validation_json) for p in process.parameters] == [
        ("text", "str", True, ""),
        ("operation", "str", False, '{"default": "upper"}'),
    ]
    assert dict(process.metadata) == {
        "adapter_class": "ShowcaseAdapter",
        "module": "snakepit_bridge.adapters.showcase.showcase_adapter",
    }
    assert next(t for t in request.tools if t.name == "stream_data").supports_streaming
    assert elixir_standin.calls("InitializeSession"), "the session exists on Elixir before tools are announced"


def test_the_context_calls_elixir_tools_and_carries_the_request_metadata(
    serve: Serve, elixir_standin: ElixirStandIn
) -> None:
    elixir_standin.expose_tool("double", lambda p: p["x"] * 2, parameters=[("x", "integer")])
    served = serve("modern_adapter.ModernAdapter", elixir_address=elixir_standin.address)
    result = served.result("ask_elixir", {"x": 21}, metadata={"correlation_id": "c-1"})[1]
    assert result == {"double": 42, "meta": {"correlation_id": "c-1"}}
    sent = elixir_standin.calls("ExecuteElixirTool")[0]
    assert sent.parameters["x"].type_url.endswith("StringValue") and sent.parameters["x"].value == b"21"
    standalone = json.loads(serve("modern_adapter.ModernAdapter").error("ask_elixir", {"x": 1}))
    assert standalone["message"] == "Elixir tool 'double' not found. Available tools: []", "as 0.13's context says"


def test_snakebridge_shaped_adapter(serve: Serve, elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("double", lambda p: p["x"] * 2)
    served = serve("snakebridge_adapter.SnakeBridgeAdapter", elixir_address=elixir_standin.address)
    call = {"library": "math", "function": "sqrt", "args": [16]}
    assert served.result("snakebridge.call", call, session_id="sb") == (
        "map",
        {"result": 4.0, "session_id": "sb", "telemetry": True},
    )
    routed = served.result("snakebridge.call", {**call, "session_id": "routed"})[1]
    assert routed["session_id"] == "routed"
    streamed = served.chunks("snakebridge.call", {**call, "call_type": "dynamic_stream", "args": [1, 4]})
    assert [data for _, data, _, _ in streamed if data] == [b"1.0", b"2.0"]
    # A callback through context.stub with Snakepit's top-level snakepit_bridge_pb2 (the host's, standing in).
    assert served.result("snakebridge.callback", {"x": 5}, session_id="sb")[1] == {"callback": 10, "success": True}
    message = served.error("snakebridge.nope")
    assert json.loads(message)["message"] == "Tool 'snakebridge.nope' not supported by SnakeBridgeAdapter"


def test_calls_of_an_adapter_without_thread_safe_are_serialised(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    spans = _concurrent_naps(served, 3, 0.2)
    assert all(a[1] <= b[0] + 0.005 for a, b in itertools.pairwise(spans)), spans
    parallel = _concurrent_naps(serve("modern_adapter.ThreadSafeModern"), 3, 0.3)
    assert max(start for start, _ in parallel) < min(end for _, end in parallel), "thread-safe calls overlap"


def _concurrent_naps(served: object, count: int, seconds: float) -> list[tuple[float, float]]:
    results: list[tuple[float, float]] = []

    def nap() -> None:
        value = served.result("nap", {"seconds": seconds})[1]  # type: ignore[attr-defined]
        results.append((value["start"], value["end"]))

    threads = [threading.Thread(target=nap) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == count
    return sorted(results)


def test_protocol_can_be_chosen(serve: Serve) -> None:
    served = serve(SHOWCASE, options={"adapter_protocol": "0.4"})
    assert served.result("add", {"a": 2, "b": 3}) == ("integer", 5)
    assert served.error("error_demo", {"error_type": "value"}) == "This is a demonstration ValueError"


def test_session_end_forgets_announcements(serve: Serve, elixir_standin: ElixirStandIn) -> None:
    served = serve(SHOWCASE, elixir_address=elixir_standin.address, session_ttl=0.2)
    served.result("add", {"a": 1, "b": 1}, session_id="short")
    wait_until(lambda: "short" not in served.running.host.sessions.ids(), "the session to expire")
    served.result("add", {"a": 1, "b": 1}, session_id="short")
    assert [a.session_id for a in elixir_standin.calls("RegisterTools")] == ["short", "short"]


def test_timing_is_reported(serve: Serve) -> None:
    served = serve(SHOWCASE)
    started = time.monotonic()
    response = served.execute("add", {"a": 1, "b": 2})
    assert response.success and 0 <= response.execution_time_ms <= (time.monotonic() - started) * 1000 + 1


def test_execute_tool_receives_the_arguments_as_sent_session_id_included(serve: Serve) -> None:
    """The host takes ``session_id`` out of plugins' parameters; Snakepit passed it to adapters (SnakeBridge)."""
    served = serve("arguments_adapter.ArgumentsAdapter")
    for name in ("declared", "undeclared"):  # a @tool command and a name only execute_tool answers
        routed = served.result(name, {"label": "a", "session_id": "caller"}, session_id="worker")[1]
        assert routed == {
            "tool": name,
            "arguments": {"label": "a", "session_id": "caller"},
            "context_session": "caller",
        }
        plain = served.result(name, {"label": "a"}, session_id="worker")[1]
        assert plain == {"tool": name, "arguments": {"label": "a"}, "context_session": "worker"}, "nothing added"
    # Binary data under a declared parameter: its schema constrains nothing, as execute_tool accepts anything.
    binary = served.result("declared", {"label": "b"}, binary={"data": b"\x00\x01\x02"})[1]
    assert binary["arguments"] == {"label": "b", "data": 3}
    assert served.running.host.registry.commands["declared"].validator.accepts_anything


def test_methods_called_directly_get_only_their_own_parameters(serve: Serve) -> None:
    served = serve("modern_adapter.ModernAdapter")
    greeting = served.result("greet", {"name": "Ada", "session_id": "caller", "mood": "calm"}, session_id="w")[1]
    assert greeting == {"text": "hello Ada!", "extra": {"mood": "calm"}, "session": "caller"}
