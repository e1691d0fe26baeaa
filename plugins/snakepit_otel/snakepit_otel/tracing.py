"""The tracing observer: a server span per call, child spans for ``snakepit_host.span``, ids for log lines.

Span names and attributes follow Snakepit 0.13's own Python worker where it
has them, so its dashboards carry over: ``BridgeService/ExecuteTool`` and
``BridgeService/ExecuteStreamingTool``, with ``snakepit.session_id``,
``snakepit.tool`` and ``snakepit.correlation_id``. Added here: kind SERVER
(Snakepit's are INTERNAL), the ``rpc.*`` attributes, the outcome
(``snakepit.success``, ``snakepit.error_type``, an ERROR status), the sizes
(``snakepit.request_bytes``, ``snakepit.response_bytes``, and
``snakepit.chunks`` for streams), and a parent taken from the W3C trace
context (``traceparent``, ``tracestate``, ``baggage``) in the request
metadata or, failing that, the gRPC headers; Snakepit 0.13's Elixir side
sends none today, so its calls start traces here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from snakepit_host import SnakepitError, describe_exception
from snakepit_otel.provider import Provider, provider_for

if TYPE_CHECKING:
    from snakepit_host import CallScope, Host

TRACE_KEYS = ("traceparent", "tracestate", "baggage")
KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
SERVICE = "snakepit.bridge.BridgeService"


def trace_carrier(call: CallScope) -> dict[str, str]:
    """The W3C trace context of a call: request metadata first, else gRPC headers."""
    metadata = call.metadata
    carrier = {key: metadata[key] for key in TRACE_KEYS if key in metadata}
    if not carrier:
        for key in TRACE_KEYS:
            value = call.header(key)
            if value is not None:
                carrier[key] = value
    return carrier


class Tracing:
    """Observer of every call, and the :class:`snakepit_host.CallTracer` of the calls it traces."""

    def __init__(self, provider: Provider, version: str) -> None:
        self.provider = provider
        self.tracer = provider.provider.get_tracer("snakepit_host", version)

    @classmethod
    def start(cls, host: Host) -> Tracing:
        return cls(provider_for(host), host.version)

    def status(self) -> dict[str, Any]:
        return {"exporters": list(self.provider.exporters), "provider": "own" if self.provider.owned else "process"}

    def shutdown(self) -> None:
        self.provider.shutdown()

    # ------------------------------------------------------------ the call's span

    def call_started(self, call: CallScope) -> Callable[[CallScope], None]:
        carrier = trace_carrier(call)
        parent = propagate.extract(carrier) if carrier else None
        session = call.request.session_id
        span = self.tracer.start_span(
            f"BridgeService/{call.rpc}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "snakepit.tool": call.command,
                "snakepit.session_id": session,
                "snakepit.correlation_id": call.correlation_id,
                "rpc.system": "grpc",
                "rpc.service": SERVICE,
                "rpc.method": call.rpc,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        call.tracer = self

        def ended(call: CallScope) -> None:
            try:
                _outcome(span, call, session)
            finally:
                span.end()
                otel_context.detach(token)

        return ended

    # ------------------------------------------------------------ CallTracer

    def span(self, name: str, attributes: Mapping[str, Any] | None, kind: str) -> Any:
        return self.tracer.start_as_current_span(name, kind=KINDS.get(kind, SpanKind.INTERNAL), attributes=attributes)

    def ids(self) -> tuple[str, str] | None:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _outcome(span: trace.Span, call: CallScope, request_session: str) -> None:
    if not span.is_recording():
        return
    attributes: dict[str, Any] = {
        "snakepit.success": call.success,
        "snakepit.request_bytes": call.request_bytes,
        "snakepit.response_bytes": call.response_bytes,
    }
    session = call.session_id
    if session != request_session:  # a session_id parameter (execute_in_session) chose another session
        attributes["snakepit.session_id"] = session
        attributes["snakepit.request_session_id"] = request_session
    if call.rpc == "ExecuteStreamingTool":
        attributes["snakepit.chunks"] = call.chunks
    if not call.success:
        attributes["snakepit.error_type"] = call.error_type or "Error"
        error = call.error
        if isinstance(error, Exception) and not isinstance(error, SnakepitError):
            span.record_exception(error)  # an unexpected failure: its traceback belongs in the trace
        description = describe_exception(error) if isinstance(error, Exception) else (call.error_type or "failed")
        span.set_status(Status(StatusCode.ERROR, description[:500]))
    span.set_attributes(attributes)
