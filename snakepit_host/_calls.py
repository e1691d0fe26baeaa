"""The call in progress: what log records, call statistics, observers and child spans learn about it.

The server opens a :class:`CallScope` around every ExecuteTool and
ExecuteStreamingTool. It sits in a context variable for the call's duration,
so whatever runs on the call's behalf (the handler, plugins, user code using
``logging``, an ``async def`` handler on the host's loop, a timed handler on
the host's helper thread) can ask :func:`current_call` for the correlation id
Snakepit sent, the command and the session, without these being passed along.

Observers (``register_call_observers``) hear each call start and end. With
none enabled, the scope does a context-variable set and reset, one entry
in the call statistics, and nothing else; the correlation id and the
session are worked out only when something asks for them (a log record is
written, an observer looks).

:func:`span` is the child-span API for plugins: ``with span("name", {...}):``.
It returns one shared object that does nothing unless a tracing observer
(snakepit-otel) traces the current call, so plugins call it unconditionally.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import grpc

    from snakepit_host._host_api import Host
    from snakepit_host._stats import CallStats
    from snakepit_host.proto import snakepit_bridge_pb2 as pb

    class CallHost(Host, Protocol):
        """The host as a call scope uses it (the running host is one): its statistics, observers, session rule."""

        call_stats: CallStats
        observers: tuple[tuple[str, CallObserver], ...]

        def session_id_for(self, request_session_id: str, params: Mapping[str, Any]) -> str: ...


log = logging.getLogger("snakepit_host.calls")

CORRELATION_KEY = "correlation_id"
"""Request metadata key of Snakepit 0.13's correlation id (``sp-`` + 24 hex digits)."""
CORRELATION_HEADER = "x-snakepit-correlation-id"
"""gRPC header carrying the same id (what Snakepit's own Python worker reads)."""
STREAMING_RPC = "ExecuteStreamingTool"
MAX_ID_LENGTH = 128
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@+=-]")


def safe_text(value: str) -> str:
    """``value`` cut to 128 characters, anything but id-like characters replaced by ``?``.

    Correlation ids, command names and session ids come from the wire and are
    written into every log line of a call: a newline in one must not forge a line.
    """
    value = value[:MAX_ID_LENGTH]
    return _UNSAFE.sub("?", value) if _UNSAFE.search(value) else value


class CallTracer(Protocol):
    """What a tracing observer attaches to a call (:attr:`CallScope.tracer`): child spans and log ids."""

    def span(self, name: str, attributes: Mapping[str, Any] | None, kind: str) -> SpanContext:
        """A context manager opening a child span of the current span."""
        ...

    def ids(self) -> tuple[str, str] | None:
        """(trace id, span id) of the current span in hex, for log records; None when there is none."""
        ...


class SpanContext(Protocol):
    """A child span as ``with`` sees it; ``__enter__`` gives something with ``set_attribute``."""

    def __enter__(self) -> Any: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> Any: ...


class CallObserver(Protocol):
    """Hears each ExecuteTool / ExecuteStreamingTool call (made by a ``register_call_observers`` factory)."""

    def call_started(self, call: CallScope) -> Callable[[CallScope], None] | None:
        """The call begins (the scope is current); return what to call when it has ended, or None."""
        ...


class _NullSpan:
    """The span :func:`span` hands out when nothing traces the call: every method does nothing."""

    __slots__ = ()

    def __enter__(self) -> _NullSpan:
        return self

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        return None

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        return None


NULL_SPAN = _NullSpan()

CURRENT: ContextVar[CallScope | None] = ContextVar("snakepit_call", default=None)


def current_call() -> CallScope | None:
    """The call this code runs for (its correlation id, command, session), or None outside calls."""
    return CURRENT.get()


def span(name: str, attributes: Mapping[str, Any] | None = None, *, kind: str = "internal") -> SpanContext:
    """A child span of the current call: ``with span("dspy.lm", {"model": m}) as s: ...``.

    ``kind`` is ``"internal"`` or ``"client"`` (a call out of this process).
    When the call is not traced (no tracing plugin enabled, or outside a
    call) this returns a shared object whose methods do nothing.
    """
    call = CURRENT.get()
    if call is None or call.tracer is None:
        return NULL_SPAN
    return call.tracer.span(name, attributes, kind)


def tracing() -> bool:
    """Whether the current call is traced: for plugins that would set up extra machinery for spans."""
    call = CURRENT.get()
    return call is not None and call.tracer is not None


class CallScope:
    """One ExecuteTool or ExecuteStreamingTool call, from its request to its outcome.

    Used as ``with CallScope(host, rpc, request, context) as call:`` by the
    server. Read by log records (:attr:`correlation_id`, :attr:`command`,
    :attr:`session_id`), observers (also the sizes and the outcome) and
    :func:`span`. Outcome attributes are set by the server as it learns them:
    :attr:`response` (unary), :meth:`chunk` (streams), :attr:`error`.
    """

    __slots__ = (
        "_context",
        "_correlation_id",
        "_finishers",
        "_token",
        "chunks",
        "duration",
        "error",
        "failed",
        "final_sent",
        "host",
        "params",
        "request",
        "response",
        "response_bytes",
        "rpc",
        "started",
        "tracer",
    )

    def __init__(self, host: CallHost, rpc: str, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> None:
        self.host = host
        self.rpc = rpc
        """``"ExecuteTool"`` or ``"ExecuteStreamingTool"``."""
        self.request = request
        self._context = context
        self.params: Mapping[str, Any] | None = None
        """The decoded parameters, once decoded (they may name the session)."""
        self.response: pb.ExecuteToolResponse | None = None
        self.error: BaseException | None = None
        self.failed = False
        """A stream ended with an error chunk."""
        self.final_sent = False
        """A stream sent its final chunk: closing it after that (the client hung up) is no failure."""
        self.chunks = 0
        self.response_bytes = 0
        self.duration = 0.0
        self.tracer: CallTracer | None = None
        """Set by a tracing observer: what :func:`span` opens child spans with."""
        self._correlation_id: str | None = None
        self._finishers: list[tuple[str, Callable[[CallScope], None]]] | None = None
        self._token: Token[CallScope | None] | None = None
        self.started = time.perf_counter()

    # ------------------------------------------------------------ what the call is

    @property
    def command(self) -> str:
        return self.request.tool_name

    @property
    def metadata(self) -> Mapping[str, str]:
        """The request's metadata (``correlation_id``, ``traceparent``, Snakepit's runtime keys...)."""
        return self.request.metadata

    def header(self, name: str) -> str | None:
        """A gRPC request header (lower-case name), or None."""
        for key, value in self._context.invocation_metadata() or ():
            if key == name:
                return value if isinstance(value, str) else None
        return None

    @property
    def correlation_id(self) -> str:
        """Snakepit's id for this call: request metadata ``correlation_id``, else the
        ``x-snakepit-correlation-id`` header, else one made here (32 hex digits, as Snakepit's
        Python worker makes them), so a call's log lines always share an id."""
        if self._correlation_id is None:
            found = self.request.metadata.get(CORRELATION_KEY) or self.header(CORRELATION_HEADER)
            if found:
                self._correlation_id = safe_text(found)
            else:
                import uuid

                self._correlation_id = uuid.uuid4().hex
        return self._correlation_id

    @property
    def session_id(self) -> str:
        """The session the call runs in (a ``session_id`` parameter wins over the request's, as in the host)."""
        params = self.params or {}
        try:
            return self.host.session_id_for(self.request.session_id, params)
        except Exception:  # a malformed session_id parameter: the call fails saying so; logs show the request's
            return self.request.session_id

    # ------------------------------------------------------------ sizes and outcome

    @property
    def request_bytes(self) -> int:
        """Bytes of parameter payload received (JSON values and binary parameters; framing not counted)."""
        request = self.request
        return sum(len(value.value) for value in request.parameters.values()) + sum(
            len(data) for data in request.binary_parameters.values()
        )

    def chunk(self, chunk: pb.ToolChunk) -> None:
        """A stream sent ``chunk``: counted, and an error chunk marks the call failed."""
        self.chunks += 1
        self.response_bytes += len(chunk.data)
        if chunk.is_final:
            self.final_sent = True
            if chunk.metadata.get("error") == "true":
                self.failed = True

    @property
    def success(self) -> bool:
        if self.error is not None or self.failed:
            return False
        return self.response is None or self.response.success

    @property
    def error_type(self) -> str | None:
        """The failure's exception name (``NotFound``, ``DeadlineExceeded``...), None on success."""
        if self.error is not None:
            return type(self.error).__name__
        if self.response is not None and not self.response.success:
            return self.response.metadata.get("error_type") or "Error"
        return "Error" if self.failed else None

    # ------------------------------------------------------------ scope

    def __enter__(self) -> CallScope:
        self._token = CURRENT.set(self)
        if self.rpc == STREAMING_RPC:
            self.host.call_stats.stream_opened(STREAMING_RPC)
        observers = self.host.observers
        if observers:
            self._finishers = _start(observers, self)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.duration = time.perf_counter() - self.started
        if value is not None and self.error is None and not (kind is GeneratorExit and self.final_sent):
            self.error = value  # an abort, or GeneratorExit when the client went away mid-stream
        response = self.response
        if response is not None:
            self.response_bytes = len(response.result.value) + len(response.binary_result)
        stats = self.host.call_stats
        stats.record(self.request.tool_name, self.duration, self.success)
        if self.rpc == STREAMING_RPC:
            stats.stream_closed(STREAMING_RPC)
        if self._finishers:
            _finish(self._finishers, self)
        if self._token is not None:
            try:
                CURRENT.reset(self._token)
            except ValueError:  # a stream closed from another thread than the one that opened it
                CURRENT.set(None)


def _start(observers: tuple[tuple[str, CallObserver], ...], call: CallScope) -> list[tuple[str, Any]]:
    finishers = []
    for owner, observer in observers:
        try:
            finish = observer.call_started(call)
        except Exception as exc:
            _observer_failed(owner, exc)
            continue
        if finish is not None:
            finishers.append((owner, finish))
    return finishers


def _finish(finishers: list[tuple[str, Callable[[CallScope], None]]], call: CallScope) -> None:
    for owner, finish in reversed(finishers):
        try:
            finish(call)
        except Exception as exc:
            _observer_failed(owner, exc)


_reported: set[str] = set()


def _observer_failed(owner: str, exc: Exception) -> None:
    """An observer must never fail a call: its first failure is a warning, later ones debug lines."""
    level = logging.DEBUG if owner in _reported else logging.WARNING
    _reported.add(owner)
    log.log(level, "call observer of plugin %s failed (the call is unaffected): %s: %s", owner, type(exc).__name__, exc)
