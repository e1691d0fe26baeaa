"""One adapter call, made the way Snakepit's server makes it (notes §1.2, §1.4).

Per call: a new instance (Snakepit keeps nothing per instance either),
``set_session_context`` with the context of the Snakepit version, the tools
announced to Elixir once per session (``register_with_session``, as 0.13
does), ``initialize()``, then ``execute_tool(tool_name=..., arguments=...,
context=...)``, or the ``@tool`` method itself when the adapter has no
``execute_tool``, and ``cleanup()`` however the call ended (on error too,
and for 0.4 adapters as well, whose own server never called it). Sync and
async methods both work: coroutines run on the host's event loop; streams
may be generators, async generators or any iterable.

Calls of an adapter that does not declare ``__thread_safe__`` are
serialised, one at a time per host, and a waiting call gives up at its own
time limit. Every failure reaches the caller encoded as that Snakepit
version encodes it.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from snakepit_adapters.contexts import deadline_stub
from snakepit_adapters.encoding import STREAMING_ON_UNARY
from snakepit_adapters.protocol import detect
from snakepit_host import SnakepitError, StreamChunk, VerbatimError

if TYPE_CHECKING:
    from snakepit_adapters.discovery import AdapterClass, AdapterTool
    from snakepit_host import Host, SessionContext

log = logging.getLogger("snakepit_adapters")

CLEANUP_SECONDS = 5.0
"""How long an async ``cleanup()`` may take once its call's deadline has passed."""
TURN_MARGIN = 0.1
"""Seconds before its time limit at which a call waiting for its turn gives up, to answer in time."""


class AdapterRuntime:
    """One adapter on one host: its protocol, its turn lock, the sessions its tools were announced in."""

    def __init__(self, adapter: AdapterClass, host: Host) -> None:
        self.adapter = adapter
        self.host = host
        self.protocol = detect(host, adapter)
        self._lock = None if adapter.thread_safe else threading.Lock()
        self._holder: tuple[str, float] | None = None
        self._announced: set[str] = set()
        self._announce_lock = threading.Lock()

    # ------------------------------------------------------------ the two call shapes

    def unary(self, name: str, tool: AdapterTool | None, ctx: SessionContext, params: dict[str, Any]) -> Any:
        try:
            with self._turn(ctx, name):
                instance = self.adapter.cls()
                try:
                    outcome = self._run(instance, name, tool, ctx, params)
                    if inspect.isgenerator(outcome) or inspect.isasyncgen(outcome):
                        self._close(outcome)
                        outcome = STREAMING_ON_UNARY
                    return self.protocol.result(outcome)
                finally:
                    self._cleanup(instance, ctx)
        except Exception as exc:
            raise self._error(exc, ctx, params) from exc
        finally:
            self._note_overrun(name, ctx)

    def stream(
        self, name: str, tool: AdapterTool | None, ctx: SessionContext, params: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        try:
            with self._turn(ctx, name):
                instance = self.adapter.cls()
                outcome = None
                try:
                    outcome = self._run(instance, name, tool, ctx, params)
                    for item in self._items(outcome, ctx):
                        yield self.protocol.chunk(item)
                finally:
                    self._close(outcome)
                    self._cleanup(instance, ctx)
        except Exception as exc:
            raise self._error(exc, ctx, params) from exc

    # ------------------------------------------------------------ lifecycle

    def _run(
        self, instance: Any, name: str, tool: AdapterTool | None, ctx: SessionContext, params: dict[str, Any]
    ) -> Any:
        self._ensure_elixir_session(ctx.session_id)
        bridge = self.protocol.context(ctx)
        setter = getattr(instance, "set_session_context", None)
        if callable(setter):
            setter(bridge)
        self._announce(instance, ctx)
        initialize = getattr(instance, "initialize", None)
        if callable(initialize):
            self._settle(initialize(), ctx.time_remaining())
        if self.adapter.dispatches:
            outcome = instance.execute_tool(tool_name=name, arguments=params, context=bridge)
        else:
            assert tool is not None  # without execute_tool only declared tools are registered
            outcome = getattr(instance, tool.name)(**params)
        return self._settle(outcome, ctx.time_remaining())

    def _announce(self, instance: Any, ctx: SessionContext) -> None:
        """``register_with_session`` once per session, as 0.13's server does; a failure is logged, not retried."""
        elixir = self.host.elixir
        register = getattr(instance, "register_with_session", None)
        session_id = ctx.session_id
        if elixir is None or not callable(register) or session_id in self._announced:
            return
        with self._announce_lock:
            if session_id in self._announced:
                return
            self._announced.add(session_id)
        try:
            register(session_id, deadline_stub(elixir.stub, ctx))
        except Exception as exc:
            log.warning("%s: announcing its tools for session %s failed: %s", self.adapter.name, session_id, exc)

    def _ensure_elixir_session(self, session_id: str) -> None:
        """As Snakepit's server does first on every call (the host remembers which sessions Elixir has)."""
        elixir = self.host.elixir
        if elixir is None:
            return
        try:
            elixir.ensure_session(session_id)
        except SnakepitError as exc:
            log.debug("%s: InitializeSession %s on Elixir failed: %s", self.adapter.name, session_id, exc)

    def forget(self, session_id: str) -> None:
        """The session ended: a new one of that id is announced again."""
        self._announced.discard(session_id)

    def _items(self, outcome: Any, ctx: SessionContext) -> Iterator[Any]:
        """Items as Snakepit drains them: async iterables, iterables (a dict yields its keys), else one item."""
        if hasattr(outcome, "__aiter__"):
            yield from self.host.loop.iterate(outcome.__aiter__(), ctx.time_remaining())
        elif hasattr(outcome, "__iter__"):
            yield from outcome
        else:
            yield outcome

    def _settle(self, value: Any, timeout: float | None) -> Any:
        """Await ``value`` on the host's loop if it is awaitable."""
        return self.host.loop.run(value, timeout) if inspect.isawaitable(value) else value

    def _close(self, outcome: Any) -> None:
        try:
            if inspect.isasyncgen(outcome):
                self.host.loop.run(outcome.aclose(), CLEANUP_SECONDS)
            elif inspect.isgenerator(outcome):
                outcome.close()
        except Exception as exc:
            log.debug("%s: closing a stream failed: %s", self.adapter.name, exc)

    def _cleanup(self, instance: Any, ctx: SessionContext) -> None:
        cleanup = getattr(instance, "cleanup", None)
        if not callable(cleanup):
            return
        remaining = ctx.time_remaining()
        try:
            self._settle(cleanup(), None if remaining is None else max(remaining, CLEANUP_SECONDS))
        except Exception as exc:  # as Snakepit: a failing cleanup is logged, the call's outcome stands
            log.warning("%s.cleanup() failed: %s: %s", self.adapter.name, type(exc).__name__, exc)

    # ------------------------------------------------------------ serialisation and errors

    @contextmanager
    def _turn(self, ctx: SessionContext, name: str) -> Iterator[None]:
        """One call at a time unless ``__thread_safe__``.

        A waiting call gives up just before its time limit (the caller's
        deadline or ``--call-timeout``), so that the caller still reads why.
        """
        if self._lock is None:
            yield
            return
        limits = [t for t in (ctx.time_remaining(), self.host.config.call_timeout) if t is not None]
        limit = min(limits) if limits else None
        wait = -1 if limit is None else max(0.0, limit - min(TURN_MARGIN, limit / 10))
        if not self._lock.acquire(timeout=wait):
            holder, since = self._holder or ("?", time.monotonic())
            raise TimeoutError(
                f"{self.adapter.name} is not thread-safe (no __thread_safe__), so its calls run one at a time, "
                f"and the call of '{holder}' (running for {time.monotonic() - since:.1f} s) did not finish "
                f"within this call's time limit of {limit:g} s"
            )
        self._holder = (name, time.monotonic())
        try:
            yield
        finally:
            self._holder = None
            self._lock.release()

    def _error(self, exc: Exception, ctx: SessionContext, params: dict[str, Any]) -> VerbatimError:
        message = self.protocol.error_message(exc, ctx, params)
        log.info("%s: '%s' failed: %s: %s", self.adapter.name, ctx.tool_name, type(exc).__name__, exc)
        return VerbatimError(message, status="INTERNAL", error_type=type(exc).__name__)

    def _note_overrun(self, name: str, ctx: SessionContext) -> None:
        if ctx.deadline is not None and time.monotonic() > ctx.deadline:
            late = time.monotonic() - ctx.deadline
            log.warning("%s: '%s' returned %.1f s after its caller's deadline", self.adapter.name, name, late)
