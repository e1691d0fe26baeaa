"""Per-host state of the plugin: settings, the chosen store, and each session's variables.

One plugin module may serve several hosts in one process (tests do), so the
runtime lives in ``host.state("variables", ...)``, never in module globals.
The store is chosen once, on first need (never before the worker is ready:
an ``auto`` choice may ask Elixir, and a worker that never uses variables
never opens a store): ``memory``, ``elixir``, ``sqlite``, ``redis``, any store a
plugin registered through ``register_variable_stores``, or ``auto``
(elixir when the Elixir side answers the variable RPCs; else sqlite when
Snakepit launched the worker, so that the workers of a pool share their
variables; else memory). The choice is logged, and
:meth:`VariablesRuntime.status` is what ``describe`` shows under
``status.variables``. A store that cannot be reached yet (Redis down at
start) is tried again on later calls.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from snakepit_host import FailedPrecondition, InvalidArgument, NotFound, SnakepitError, Unavailable

if TYPE_CHECKING:
    from collections.abc import Callable

    from snakepit_host import Host, Session, ValueType
    from snakepit_variables.model import ChangeEvent
    from snakepit_variables.session_variables import SessionVariables
    from snakepit_variables.stores import VariableStore

log = logging.getLogger("snakepit_variables")

RETRY_SECONDS = 1.0
"""A store that was unreachable is tried again at most this often."""
PROBE_SESSION = "snakepit-variables-probe"
PROBE_TIMEOUT = 2.0
STATE_KEY = "variables"

STORE_KIND = "variable_stores"
"""The registry kind of ``register_variable_stores``' entries."""


def runtime_for(host: Host) -> VariablesRuntime:
    """The host's variables runtime (one per host; tests run several hosts in one process)."""
    return host.state(STATE_KEY, lambda: VariablesRuntime(host))


class VariablesRuntime:
    """The plugin's state for one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.requested = str(host.option("variables_store")).strip().lower()
        self.cache_ttl: float = host.option("variables_cache_ttl")
        self.history_limit: int = host.option("variables_history")
        self._store: VariableStore | None = None
        self._choice: dict[str, Any] = {"store": None, "requested": self.requested}
        self._error: SnakepitError | None = None
        self._retry_at: float | None = None
        self._lock = threading.Lock()

    def status(self) -> dict[str, Any]:
        """The store in use (None until chosen, or when it cannot be used) and why: ``describe`` shows it."""
        return dict(self._choice)

    @property
    def poll_interval(self) -> float:
        """How often a watcher re-reads a store that changes elsewhere."""
        return self.cache_ttl if self.cache_ttl > 0 else 0.5

    # ------------------------------------------------------------ types

    def value_type(self, name: str) -> ValueType:
        entry = self.host.registry.types.get(name) if isinstance(name, str) else None
        if entry is None:
            known = ", ".join(sorted(self.host.registry.types))
            raise InvalidArgument(f"unknown type {name!r} (known: {known})")
        return entry.value_type

    # ------------------------------------------------------------ sessions

    def variables(self, session: Session) -> SessionVariables:
        """The session's variables (sessions, stores and watches are imported on the first use of variables)."""
        from snakepit_variables.session_variables import SessionVariables

        return session.state(STATE_KEY, lambda: SessionVariables(self, session.id))

    def variables_for(self, session_id: str, *, create: bool) -> SessionVariables:
        """A session's variables by id: created on first use when ``create``, else NotFound if unknown.

        A session the host has not seen but the store knows (made on the
        Elixir side) is adopted.
        """
        sessions = self.host.sessions
        if create or (sessions.get(session_id) is None and self.store.has_session(session_id)):
            return self.variables(sessions.ensure(session_id)[0])
        return self.variables(sessions.require(session_id))

    def session_closed(self, session: Session) -> None:
        variables: SessionVariables | None = session.get_state(STATE_KEY)
        if variables is None:
            return  # variables were never used in it here: nothing to close, and nothing to drop from a store
        variables.close()
        if self._store is not None:
            self._store.drop_session(session.id)

    def _external_change(self, session_id: str, event: ChangeEvent) -> None:
        session = self.host.sessions.get(session_id)
        variables: SessionVariables | None = session.get_state(STATE_KEY) if session is not None else None
        if variables is not None:
            variables.observe(event)

    def _log_gap(self, reason: str) -> None:
        log.warning("variables: %s; ending every watch with DATA_LOSS", reason)
        for session_id in self.host.sessions.ids():
            session = self.host.sessions.get(session_id)
            variables: SessionVariables | None = session.get_state(STATE_KEY) if session is not None else None
            if variables is not None:
                variables.fail_watches(reason)

    def close(self) -> None:
        """The host is stopping: the store stops its background work."""
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------ store

    @property
    def store(self) -> VariableStore:
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                self._store = self._choose()
            return self._store

    def _choose(self) -> VariableStore:
        if self._error is not None and (self._retry_at is None or time.monotonic() < self._retry_at):
            raise self._error
        entries = self.host.registry.entries(STORE_KIND)
        name, reason = self._auto() if self.requested == "auto" else (self.requested, "requested")
        entry = entries.get(name)
        owner = entry.owner if entry is not None else None  # the plugin whose store this is
        try:
            if entry is None:
                raise FailedPrecondition(
                    f"variables store {name!r} is not installed (available: {', '.join(sorted(entries))})"
                )
            factory: Callable[[Host], VariableStore] = entry.value
            store = factory(self.host)
        except SnakepitError as exc:
            message = f"variables store {name!r} cannot be used: {exc}"
            retry = isinstance(exc, Unavailable)
            self._error = Unavailable(message) if retry else FailedPrecondition(message)
            self._retry_at = time.monotonic() + RETRY_SECONDS if retry else None
            log.error("%s%s", message, "; trying again on the next call" if retry else "")
            self._choice = {"store": None, "requested": self.requested, "error": message}
            if owner is not None:
                self.host.report_problem(owner, message)
            raise self._error from None
        self._error = None
        if owner is not None:
            self.host.report_problem(owner, None)
        store.attach(self._external_change, self._log_gap)
        log.info("variables: using the %s store at %s (%s)", name, store.location(), reason)
        self._choice = {
            "store": name,
            "location": store.location(),
            "requested": self.requested,
            "reason": reason,
            "cache_ttl_seconds": self.cache_ttl,
            "history_limit": self.history_limit,
        }
        return store

    def _auto(self) -> tuple[str, str]:
        """elixir when the Elixir side serves the variable RPCs (Snakepit 0.4.x); else sqlite in a pool; else memory."""
        elixir = self.host.elixir
        if elixir is None:
            return self._without_elixir("no Elixir address")
        from snakepit_host import pb

        try:
            elixir.call("ListVariables", pb.ListVariablesRequest(session_id=PROBE_SESSION), timeout=PROBE_TIMEOUT)
        except (NotFound, InvalidArgument):
            pass  # the handler exists; it only refused the probe session
        except SnakepitError as exc:
            return self._without_elixir(f"Elixir does not serve the variable RPCs ({exc})")
        return "elixir", f"auto: Elixir at {elixir.address} serves the variable RPCs"

    def _without_elixir(self, why: str) -> tuple[str, str]:
        """A worker Snakepit launched (it has a run id) shares its pool's sqlite file; a standalone one keeps memory."""
        run_id = self.host.config.run_id
        if run_id:
            return "sqlite", f"auto: {why}; Snakepit run {run_id!r}: the pool's workers share one file"
        return "memory", f"auto: {why}; not launched by Snakepit (no --snakepit-run-id)"
