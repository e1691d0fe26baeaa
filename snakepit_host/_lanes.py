"""Where each RPC runs: a thread pool per kind of RPC, and the caps on calls and streams.

grpcio's synchronous server runs every RPC, a stream included, on a thread of
its pool for the RPC's whole life. With one pool for everything, 16 open
WatchVariables streams, or 16 handlers still busy for callers that gave up,
left Ping, Heartbeat and health checks queued behind them, and Snakepit kills
a worker whose heartbeats fail. So each RPC runs in one of three lanes, each
with threads of its own (grpcio runs a behaviour on the pool named by its
``experimental_thread_pool`` attribute):

``control``
    Ping, Heartbeat and the health service's Check: never capped and never
    queued behind a call or a stream.
``calls``
    every other unary RPC (ExecuteTool, the session and variable RPCs...): at
    most ``--max-workers`` run at once.
``streams``
    every RPC that streams its answers (ExecuteStreamingTool, WatchVariables,
    StreamTelemetry, health Watch, reflection): at most ``--max-streams``
    open at once.

An RPC beyond its lane's cap is refused at once with RESOURCE_EXHAUSTED
naming the limit, never queued; a capped lane has a few threads more than
its cap so that refusing never waits behind admitted work. An admitted RPC
keeps its place for as long as it occupies its thread: for a synchronous
handler that ignores cancellation, until it returns (Python cannot stop a
thread), which is what the cap must count.

Each RPC also records its deadline in :data:`call_deadline`, so that what it
waits for on Elixir (``ElixirClient.call``) never outlasts its caller.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import grpc

P = ParamSpec("P")
T = TypeVar("T")

SPARE_THREADS = 4
"""Threads a capped lane has beyond its cap: they answer refusals while the cap is reached."""
CONTROL_THREADS = 2
NO_DEADLINE = 1e9
"""grpcio reports a call without a deadline as ~9e18 seconds remaining; anything above this is none."""

call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("snakepit_call_deadline", default=None)
"""``time.monotonic()`` by which the current RPC's caller stops waiting, or None.

grpcio runs each RPC in a context of its own, so this is per RPC; it is
copied into the helper thread of a call with a timeout.
"""


class Lane:
    """One kind of RPC: its threads and, when capped, how many may run at once."""

    def __init__(self, name: str, limit: int | None = None, refusal: str = "") -> None:
        self.name = name
        self.limit = limit
        self._places = deque(range(limit)) if limit is not None else None
        """Free places: taking one is ``pop()``, giving it back ``append()`` (atomic, no lock to contend)."""
        self._refusal = refusal
        self._holding = threading.local()
        threads = CONTROL_THREADS if limit is None else limit + SPARE_THREADS
        self.executor = _LaneExecutor(self, threads)

    @property
    def admitted(self) -> int:
        """RPCs holding a place now."""
        return 0 if self._places is None else (self.limit or 0) - len(self._places)

    def admit(self) -> bool:
        """Take a place for the RPC starting on this thread; False when the lane is full."""
        if self._places is None:
            return True
        try:
            self._holding.place = self._places.pop()
        except IndexError:
            return False
        return True

    def refusal(self) -> str:
        return self._refusal.format(limit=self.limit)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """grpcio's whole work for one RPC on a thread of this lane; its place is given back when it ends."""
        try:
            return fn(*args, **kwargs)
        finally:
            place = getattr(self._holding, "place", None)
            if place is not None and self._places is not None:
                self._holding.place = None
                self._places.append(place)

    def behavior(self, behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
        """``behavior`` run on this lane's threads, refused when the lane is full, with its deadline recorded."""

        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            if not self.admit():
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self.refusal())
            remaining = context.time_remaining()
            if remaining is not None and remaining < NO_DEADLINE:
                call_deadline.set(time.monotonic() + remaining)
            return behavior(request, context)

        serve.experimental_thread_pool = self.executor  # type: ignore[attr-defined]
        serve.__name__ = getattr(behavior, "__name__", serve.__name__)
        return serve

    def handler(self, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """A method handler (from grpcio's helpers) whose behaviour runs in this lane."""
        kind = _behavior_field(handler)
        replaced: grpc.RpcMethodHandler[Any, Any] = handler._replace(  # type: ignore[attr-defined]
            **{kind: self.behavior(getattr(handler, kind))}
        )
        return replaced

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class _LaneExecutor(ThreadPoolExecutor):
    """A lane's threads: every job grpcio submits runs through :meth:`Lane.run`."""

    def __init__(self, lane: Lane, threads: int) -> None:
        super().__init__(max_workers=threads, thread_name_prefix=f"snakepit-{lane.name}")
        self._lane = lane

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        run: Callable[..., T] = self._lane.run
        return super().submit(run, fn, *args, **kwargs)


def _behavior_field(handler: grpc.RpcMethodHandler[Any, Any]) -> str:
    if handler.request_streaming:
        return "stream_stream" if handler.response_streaming else "stream_unary"
    return "unary_stream" if handler.response_streaming else "unary_unary"


class Lanes:
    """The three lanes of one server (see the module docstring)."""

    def __init__(self, max_calls: int, max_streams: int) -> None:
        self.control = Lane("control")
        self.calls = Lane(
            "calls",
            max_calls,
            "{limit} calls are running already, the most this worker runs at once (--max-workers); try again later",
        )
        self.streams = Lane(
            "streams",
            max_streams,
            "{limit} streams are open already, the most this worker keeps open (--max-streams); "
            "close one or try again later",
        )

    def for_method(self, method: str, streaming: bool) -> Lane:
        """The lane of a method (``Service/Method`` or a BridgeService method name)."""
        if method in ALWAYS_ANSWERED:
            return self.control
        return self.streams if streaming else self.calls

    def shutdown(self) -> None:
        for lane in (self.control, self.calls, self.streams):
            lane.shutdown()


ALWAYS_ANSWERED = frozenset({"Ping", "Heartbeat", "/grpc.health.v1.Health/Check"})
"""What Snakepit and orchestrators use to decide whether a worker lives: the control lane's."""


def remaining_for(timeout: float | None) -> tuple[float | None, bool]:
    """``timeout`` shortened to what the current RPC's caller still waits; and whether the caller's deadline set it."""
    deadline = call_deadline.get()
    if deadline is None:
        return timeout, False
    left = max(deadline - time.monotonic(), 0.0)
    if timeout is None or left < timeout:
        return left, True
    return timeout, False
