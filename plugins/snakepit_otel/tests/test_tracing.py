"""A span per call over real gRPC, its parent from the caller's trace context, child spans, log ids, outcomes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import snakepit_dspy.plugin
import snakepit_tools.plugin
from opentelemetry.trace import SpanKind, StatusCode

from snakepit_host import hookimpl, span
from snakepit_host.host_client import RemoteError
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
SP_ID = "sp-0123456789abcdef01234567"
log = logging.getLogger("user.traced")


class Commands:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        def work(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            with span("work.step", {"step": 1}) as step:
                step.set_attribute("done", True)
                log.info("inside the step")
            return {"ok": True, "padding": "x" * 100}

        def broken(ctx: Any, params: dict[str, Any]) -> None:
            raise RuntimeError("unexpected")

        def chunks(ctx: Any, params: dict[str, Any]) -> Iterator[int]:
            yield from range(3)

        register.command("work", work)
        register.command("broken", broken)
        register.command("chunks", chunks)


def only(spans: list[Any], name: str) -> Any:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def test_a_server_span_per_call_with_snakepits_attributes_and_the_callers_parent(traced: Any, spans: Any) -> None:
    client = traced(Commands()).client()
    metadata = {"correlation_id": SP_ID, "traceparent": TRACEPARENT}
    assert client.call("work", {"a": 1}, session_id="session_2_1", metadata=metadata)["ok"] is True
    call = only(spans(), "BridgeService/ExecuteTool")
    assert call.kind is SpanKind.SERVER
    assert format(call.context.trace_id, "032x") == TRACE_ID and format(call.parent.span_id, "016x") == PARENT_ID
    attributes = dict(call.attributes)
    assert attributes["snakepit.tool"] == "work" and attributes["snakepit.session_id"] == "session_2_1"
    assert attributes["snakepit.correlation_id"] == SP_ID and attributes["snakepit.success"] is True
    assert attributes["rpc.system"] == "grpc" and attributes["rpc.method"] == "ExecuteTool"
    assert attributes["snakepit.request_bytes"] == 1 and attributes["snakepit.response_bytes"] > 100
    step = only(spans(), "work.step")
    assert step.parent.span_id == call.context.span_id and dict(step.attributes) == {"step": 1, "done": True}


def test_log_lines_carry_the_trace_and_span_ids(traced: Any, spans: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    traced(Commands()).client().call("work", metadata={"traceparent": TRACEPARENT})
    (record,) = [r for r in caplog.records if r.getMessage() == "inside the step"]
    step = only(spans(), "work.step")
    assert record.trace_id == TRACE_ID  # type: ignore[attr-defined]
    assert record.span_id == format(step.context.span_id, "016x")  # type: ignore[attr-defined]


def test_trace_context_from_grpc_headers_and_a_new_trace_without_any(traced: Any, spans: Any) -> None:
    running = traced(Commands())
    with grpc.insecure_channel(running.address) as channel:
        stub = channel.unary_unary(
            "/snakepit.bridge.BridgeService/ExecuteTool",
            request_serializer=pb.ExecuteToolRequest.SerializeToString,
            response_deserializer=pb.ExecuteToolResponse.FromString,
        )
        assert stub(
            pb.ExecuteToolRequest(tool_name="ping"), metadata=(("traceparent", TRACEPARENT),), timeout=10
        ).success
        assert stub(pb.ExecuteToolRequest(tool_name="ping"), timeout=10).success
    with_header, fresh = [s for s in spans() if s.name == "BridgeService/ExecuteTool"]
    assert format(with_header.context.trace_id, "032x") == TRACE_ID
    assert fresh.parent is None and format(fresh.context.trace_id, "032x") != TRACE_ID
    assert len(dict(fresh.attributes)["snakepit.correlation_id"]) == 32  # made here: the call had none


def test_failures_set_an_error_status(traced: Any, spans: Any) -> None:
    client = traced(Commands()).client()
    with pytest.raises(RemoteError):
        client.call("broken")
    with pytest.raises(RemoteError):
        client.call("no_such_command")
    broken, unknown = [s for s in spans() if s.name == "BridgeService/ExecuteTool"]
    assert broken.status.status_code is StatusCode.ERROR and "unexpected" in broken.status.description
    assert dict(broken.attributes)["snakepit.error_type"] == "RuntimeError"
    assert [event.name for event in broken.events] == ["exception"]  # an unexpected error keeps its traceback
    assert dict(unknown.attributes)["snakepit.error_type"] == "NotFound" and not unknown.events  # an expected one not


def test_a_stream_is_one_span_counting_its_chunks(traced: Any, spans: Any) -> None:
    assert list(traced(Commands()).client().stream("chunks")) == [0, 1, 2]
    # The client has the final chunk a moment before the server's generator ends (and the span with it).
    wait_until(lambda: any(s.name == "BridgeService/ExecuteStreamingTool" for s in spans()), "the stream's span")
    stream = only(spans(), "BridgeService/ExecuteStreamingTool")
    assert dict(stream.attributes)["snakepit.chunks"] == 4 and dict(stream.attributes)["snakepit.success"] is True


def test_elixir_tool_calls_are_client_child_spans(traced: Any, spans: Any, elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("greet", lambda p: f"hello {p['name']}", parameters=[("name", "string")])
    client = traced(snakepit_tools.plugin, elixir_address=elixir_standin.address).client()
    params = {"tool_name": "greet", "parameters": {"name": "Bo"}}
    assert client.call("call_elixir_tool", params, session_id="s1") == "hello Bo"
    call = only(spans(), "BridgeService/ExecuteTool")
    tool = only(spans(), "BridgeService/ExecuteElixirTool")
    assert tool.kind is SpanKind.CLIENT and tool.parent.span_id == call.context.span_id
    assert dict(tool.attributes) == {"snakepit.tool": "greet", "snakepit.session_id": "s1"}


def test_dspy_lm_calls_are_client_child_spans(traced: Any, spans: Any) -> None:
    client = traced(snakepit_dspy.plugin).client()
    client.call("configure_lm", {"model": "dummy", "answers": [{"answer": "Paris"}]}, session_id="s1")
    result = client.call(
        "enhanced_predict", {"signature": "question -> answer", "question": "Capital of France?"}, session_id="s1"
    )
    assert "Paris" in str(result)
    predict = [s for s in spans() if dict(s.attributes or {}).get("snakepit.tool") == "enhanced_predict"]
    (lm,) = [s for s in spans() if s.name.startswith("chat ")]
    assert lm.kind is SpanKind.CLIENT and lm.parent.span_id == predict[0].context.span_id
    assert dict(lm.attributes)["gen_ai.request.model"] == "dummy"


def test_off_means_no_observer_no_spans_and_nothing_for_dspy(traced: Any, spans: Any) -> None:
    running = traced(Commands(), snakepit_dspy.plugin, otel=False)
    assert running.host.observers == ()
    client = running.client()
    client.call("work")
    client.call("configure_lm", {"model": "dummy", "answers": [{"answer": "Paris"}]}, session_id="s1")
    client.call("enhanced_predict", {"signature": "question -> answer", "question": "Capital?"}, session_id="s1")
    assert spans() == [] and running.host.get_state("otel") is None


def test_status_in_describe(traced: Any) -> None:
    info = traced(Commands()).client().call("describe")
    assert info["status"]["otel"] == {"exporters": ["the process's own tracer provider"], "provider": "process"}
