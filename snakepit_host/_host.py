"""The running host: configuration, registry, sessions, and the call path.

:class:`Host` is what the server, the CLI's in-process mode and the testing
kit share. :meth:`Host.execute` and :meth:`Host.stream` are the whole call
path (session -> lookup -> handler), with no gRPC in them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host._async_loop import BackgroundLoop
from snakepit_host._context import SessionContext
from snakepit_host._dispatch import call_unary, effective_timeout, stream_items
from snakepit_host._errors import InvalidArgument, NotFound
from snakepit_host._host_config import HostConfig
from snakepit_host._names import MAX_NAME_BYTES
from snakepit_host._parameters import ROUTING_PARAMETERS
from snakepit_host._plugin_state import PluginState
from snakepit_host._registry import Tool
from snakepit_host._sessions import DEFAULT_SESSION_ID, Session, SessionStore
from snakepit_host._stats import CallStats
from snakepit_host._telemetry import TelemetryHub
from snakepit_host._version import __version__
from snakepit_host.hookspecs import HOOK_API_VERSION

if TYPE_CHECKING:
    from snakepit_host._calls import CallObserver
    from snakepit_host._elixir_client import ElixirClient
    from snakepit_host._plugin_manager import PluginManager
    from snakepit_host._registry import Command, Registry
    from snakepit_host.codec import TypedBuffer

log = logging.getLogger("snakepit_host")


class Host(PluginState):
    """One worker: the plugins' registry, live sessions and the Elixir client.

    This is the implementation; plugins see it through the
    :class:`snakepit_host._host_api.Host` protocol (``snakepit_host.Host``).
    Plugins keep per-host objects with :meth:`state` (keyed by plugin name),
    which also keeps several hosts in one process (tests) apart; an object
    with a ``status()`` method is shown by ``describe`` under its key.
    """

    def __init__(self, config: HostConfig, plugins: PluginManager, registry: Registry) -> None:
        super().__init__()
        self.config = config
        self.plugins = plugins
        self.registry = registry
        self.version = __version__
        self.loop = BackgroundLoop()
        self.sessions = SessionStore(
            ttl=config.session_ttl,
            max_sessions=config.max_sessions,
            on_created=self._session_created,
            on_closed=self._session_closed,
        )
        self.telemetry = TelemetryHub()
        """Events for Snakepit 0.13's StreamTelemetry (recorded only while a stream is open)."""
        self.call_stats = CallStats()
        """Calls, errors and latencies per command since start (the ``stats`` command)."""
        self.observers: tuple[tuple[str, CallObserver], ...] = ()
        """(owner, observer) of each enabled call observer, made as the host starts serving."""
        self.address: str | None = None
        self.worker_session_id: str | None = None
        """The session Elixir initialised for this worker (0.13.x), used for heartbeats."""
        self.started_at = time.time()
        self.stop_reason: str | None = None
        self.shutdown_deadline = float("inf")
        """``time.monotonic()`` by which a stopping host is done: the stop request plus the grace period."""
        self._stopping = threading.Event()
        self._resolvable = plugins.has_impls("resolve_command")
        self._elixir: ElixirClient | None = None
        self._elixir_lock = threading.Lock()

    # ------------------------------------------------------------ environment

    @property
    def elixir(self) -> ElixirClient | None:
        """Client of the Elixir BridgeServer (``--elixir-address``), created on first use."""
        if self.config.elixir_address is None:
            return None
        if self._elixir is None:
            with self._elixir_lock:
                if self._elixir is None:
                    from snakepit_host._elixir_client import ElixirClient

                    self._elixir = ElixirClient(
                        self.config.elixir_address, max_message_bytes=self.config.max_message_bytes
                    )
        return self._elixir

    def option(self, name: str) -> Any:
        """The typed value of a plugin option (``register_options``), resolved once at start-up."""
        return self.plugins.options.value(name)

    @property
    def status(self) -> dict[str, Any]:
        """What ``describe`` shows under ``status``: ``status()`` of each per-host state object that has one."""
        report = {}
        for key, value in self.state_items():
            status = getattr(value, "status", None)
            if callable(status):
                report[key] = dict(status())
        return report

    def report_problem(self, plugin: str, problem: str | None) -> None:
        self.plugins.report_problem(plugin, problem)

    def explain_missing(self, kind: str, name: str) -> str:
        """Why nothing registered ``name`` as ``kind`` (``"commands"``, ``"rpcs"``...), worded for an error."""
        from snakepit_host._provider_hints import why_missing

        plugins = self.plugins
        return why_missing(kind, name, plugins.records.values(), finds_installed=plugins.loads_entry_points)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_shutdown(self, reason: str) -> None:
        """Ask the serving loop to stop (signal handlers, parent watch, heartbeat loss)."""
        if not self._stopping.is_set():
            self.stop_reason = reason
            self.shutdown_deadline = time.monotonic() + self.config.shutdown_grace
            log.info("shutting down: %s", reason)
            self._stopping.set()

    def wait_for_shutdown(self, timeout: float | None = None) -> bool:
        return self._stopping.wait(timeout)

    # ------------------------------------------------------------ lifecycle

    def _session_created(self, session: Session) -> None:
        self.plugins.call_lifecycle("session_created", self.loop, session=session, host=self)

    def _session_closed(self, session: Session, reason: str) -> None:
        self.plugins.call_lifecycle("session_closed", self.loop, session=session, reason=reason, host=self)
        if self._elixir is not None:
            self._elixir.forget_session(session.id)

    def started(self) -> None:
        self.observers = self._start_observers()
        self.sessions.start_reaper()
        self.plugins.call_lifecycle("host_started", self.loop, host=self)

    def _start_observers(self) -> tuple[tuple[str, CallObserver], ...]:
        """Ask every observer factory for its observer (``None``: not enabled); a failure is logged and kept."""
        started = []
        for entry in self.registry.call_observers.values():
            try:
                observer = entry.factory(self)
            except Exception as exc:
                message = f"call observer '{entry.name}' could not start: {type(exc).__name__}: {exc}"
                record = self.plugins.records.get(entry.owner)
                if record is not None:
                    record.runtime_errors.append(message)
                log.error("plugin %s: %s; calls are served without it", entry.owner, message)
                continue
            if observer is not None:
                started.append((entry.owner, observer))
        return tuple(started)

    def stopping_hooks(self) -> None:
        """``host_stopping``, each plugin bounded by the shutdown grace period."""
        grace = max(self.config.shutdown_grace, 0.5)
        self.plugins.call_lifecycle("host_stopping", self.loop, timeout=grace, bounded=True, host=self)

    def closed(self) -> None:
        """After the server stopped: close sessions, the Elixir channel and the loop."""
        self.sessions.stop_reaper()
        self.sessions.close_all("shutdown")
        if self._elixir is not None:
            self._elixir.close()
        self.loop.stop()

    # ------------------------------------------------------------ call path

    def session_id_for(self, request_session_id: str, params: Mapping[str, Any]) -> str:
        """A ``session_id`` parameter (Snakepit's execute_in_session) wins over the request's."""
        from_params = params.get("session_id")
        if from_params is not None and not isinstance(from_params, str):
            raise InvalidArgument(
                f"parameter 'session_id' names the session to run in and must be a string, "
                f"got {type(from_params).__name__}"
            )
        return from_params or request_session_id or DEFAULT_SESSION_ID

    def lookup(self, name: str, session_id: str) -> Command:
        """Registry, then the session's local commands, then ``resolve_command`` plugins."""
        command = self.registry.commands.get(name)
        if command is not None:
            return command
        if len(name) > MAX_NAME_BYTES:  # no name this long can be registered: nothing to search for
            raise NotFound(
                f"unknown command '{name[:40]}...' ({len(name):,} characters; names are at most {MAX_NAME_BYTES} bytes)"
            )
        session = self.sessions.get(session_id)
        command = session.lookup(name) if session is not None else None
        notes: list[str] = []
        if command is None and self._resolvable:
            command, notes = self.plugins.resolve_command(name, session_id, self)
        if command is None:
            raise NotFound(self._unknown_command_message(name, notes))
        if isinstance(command, Tool) and command.invoker is None:  # made at call time: prepare it as at start-up
            from snakepit_host._tool_calls import prepare

            command = prepare(command)
        return command

    def _unknown_command_message(self, name: str, notes: list[str]) -> str:
        from snakepit_host._names import did_you_mean
        from snakepit_host._provider_hints import provider_of

        known = sorted(self.registry.commands)
        hint = did_you_mean(name, known)
        extra = "".join(f"; {note}" for note in notes)
        why = f"; {self.explain_missing('commands', name)}" if provider_of("commands", name) else ""
        return f"unknown command '{name[:100]}'{hint} ({len(known)} available: see 'describe'){extra}{why}"

    def _begin(
        self,
        name: str,
        params: dict[str, Any],
        session_id: str,
        metadata: Mapping[str, str] | None,
        binary: Mapping[str, bytes | TypedBuffer] | None,
        deadline: float | None,
        is_active: Callable[[], bool] | None,
        streaming: bool,
    ) -> tuple[Command, SessionContext, dict[str, Any]]:
        """Resolve the session and the command, check the parameters, and hold the session; the caller releases it.

        The routing parameter ``session_id`` has chosen the session and is
        not passed on (unless the command keeps it); the rest must fit the
        command's schema, or the call fails before any session is created.
        """
        sid = self.session_id_for(session_id, params)
        command = self.lookup(name, sid)
        sent = params
        if not ROUTING_PARAMETERS.isdisjoint(params):
            params = {k: v for k, v in params.items() if k not in ROUTING_PARAMETERS}
        validator = command.validator
        if binary or not validator.accepts_anything:  # echo's {"type": "object"} costs no call
            validator.check(params, binary)
        if command.keep_routing:
            params = sent
        if binary:
            params = {**params, **binary}
        session = self.sessions.acquire(sid)
        ctx = SessionContext(
            self,
            session,
            tool_name=command.name,
            metadata=metadata,
            binary=binary,
            deadline=deadline,
            is_active=is_active,
            streaming=streaming,
        )
        return command, ctx, params

    def execute(
        self,
        name: str,
        params: dict[str, Any],
        *,
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
        binary: Mapping[str, bytes | TypedBuffer] | None = None,
        deadline: float | None = None,
        is_active: Callable[[], bool] | None = None,
    ) -> Any:
        """Run a command or tool and return what its handler returned."""
        command, ctx, params = self._begin(name, params, session_id, metadata, binary, deadline, is_active, False)
        try:
            return call_unary(command, ctx, params, self.loop, effective_timeout(command, self.config.call_timeout))
        finally:
            self.sessions.release(ctx.session)

    def stream(
        self,
        name: str,
        params: dict[str, Any],
        *,
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
        binary: Mapping[str, bytes | TypedBuffer] | None = None,
        deadline: float | None = None,
        is_active: Callable[[], bool] | None = None,
        on_cancel: Callable[[Callable[[], None]], object] | None = None,
    ) -> Generator[Any, None, None]:
        """Run a command and yield its items; the session is held until iteration ends.

        ``on_cancel`` registers a callback for when the caller goes away (gRPC's
        ``add_callback``): the session is released then, even while a synchronous
        generator is still blocked and cannot be closed.
        """
        command, ctx, params = self._begin(name, params, session_id, metadata, binary, deadline, is_active, True)
        release = self.sessions.release_once(ctx.session)
        if on_cancel is not None:
            on_cancel(release)
        try:
            timeout = effective_timeout(command, self.config.call_timeout)
            yield from stream_items(command, ctx, params, self.loop, timeout)
        finally:
            release()

    # ------------------------------------------------------------ introspection

    def _startup(self) -> dict[str, Any]:
        """The process's start-up timeline (:mod:`snakepit_host._startup`) and each plugin's share of it."""
        from snakepit_host import _startup

        return {
            "phases": _startup.timeline(),
            "discovery_ms": round(self.plugins.discovery_ms, 3),
            "plugins": [
                {"name": r.name, "load_ms": round(r.load_ms, 3), "registration_ms": round(r.registration_ms, 3)}
                for r in self.plugins.records.values()
            ],
        }

    def stats(self) -> dict[str, Any]:
        from snakepit_host._stats import process_figures

        return {
            "host": {
                "version": self.version,
                "address": self.address,
                "uptime_seconds": round(time.time() - self.started_at, 3),
                **process_figures(),
            },
            "sessions": {
                "live": len(self.sessions),
                "max": self.config.max_sessions,
                "ttl_seconds": self.sessions.ttl,
                "evicted": self.sessions.evicted,
            },
            **self.call_stats.snapshot(),
            "observers": [owner for owner, _ in self.observers],
        }

    def describe(self) -> dict[str, Any]:
        commands = sorted(self.registry.commands.values(), key=lambda c: c.name)
        return {
            "host": {
                "version": self.version,
                "hook_api": ".".join(map(str, HOOK_API_VERSION)),
                "python": sys.version.split()[0],
                "pid": os.getpid(),
                "address": self.address,
                "uptime_seconds": round(time.time() - self.started_at, 3),
                "startup": self._startup(),
                "elixir_address": self.config.elixir_address,
                "limits": {
                    "max_message_bytes": self.config.max_message_bytes,
                    "max_calls": self.config.max_workers,
                    "max_streams": self.config.max_streams,
                    "session_ttl_seconds": self.config.session_ttl,
                    "max_sessions": self.config.max_sessions,
                    "call_timeout_seconds": self.config.call_timeout,
                },
            },
            "plugins": self.plugins.listing(),
            "commands": [c.describe() for c in commands if c.kind == "command"],
            "tools": [c.describe() for c in commands if c.kind == "tool"],
            "types": [
                {**t.value_type.describe(), "name": t.name, "owner": t.owner}
                for t in sorted(self.registry.types.values(), key=lambda t: t.name)
            ],
            "rpcs": {m: r.owner for m, r in sorted(self.registry.rpcs.items())},
            "sessions": self.sessions.describe(),
            "telemetry": self.telemetry.describe(),
            "status": self.status,
        }
