"""Sessions: per-caller scope with a time-to-live and a bounded table.

A session is created the first time its id is used (any call may carry it;
such a session is *implicit*) or by InitializeSession (*explicit*), and
closed by CleanupSession, by expiry after ``ttl`` seconds without use, by
eviction, or at shutdown. A session with a call in flight never expires and
is never evicted under that call. Plugins keep per-session data in
:meth:`Session.state`, which is dropped with the session.

The table holds at most ``max_sessions``. Callers that send a new session id
on every call (Snakepit's ``execute_in_session`` with many ids, a client that
makes one per request, a flood) would otherwise fill it and lock new sessions
out until the old ones expire: at the limit the least recently used idle
session is evicted instead, implicit ones before explicit ones, and only when
every session has a call running is a new one refused (RESOURCE_EXHAUSTED).
The table is kept in order of last use, so eviction and expiry look only at
the oldest sessions, and a session costs a few hundred bytes until a plugin
stores something in it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from snakepit_host._errors import NotFound, ResourceExhausted
from snakepit_host._names import check_key
from snakepit_host._plugin_state import PluginState

if TYPE_CHECKING:
    from snakepit_host._registry import Command

T = TypeVar("T")

log = logging.getLogger("snakepit_host.sessions")

DEFAULT_SESSION_ID = "default_session"
MAX_SESSION_ID_LENGTH = 256
EVICTION_SCAN = 64
"""How many of the least recently used idle sessions eviction looks through for an implicit one."""
EVICTION_LOG_SECONDS = 60.0
"""Evictions are logged at most this often (a flood would otherwise log every call)."""


def check_session_id(session_id: object) -> str:
    """Session ids are short printable strings that are not paths; anything else is refused."""
    return check_key("session id", session_id, MAX_SESSION_ID_LENGTH)


class Session(PluginState):
    """One caller's scope: metadata, plugin state and session-local commands.

    Plugins keep per-session data with :meth:`state` (keyed by plugin name);
    it is dropped with the session.
    """

    def __init__(self, session_id: str, metadata: dict[str, str] | None = None, *, explicit: bool = False) -> None:
        super().__init__()
        self.id = session_id
        self.metadata: dict[str, str] = dict(metadata) if metadata else {}
        self.explicit = explicit
        """Created by InitializeSession (a client asked for it), not implicitly by a call naming its id."""
        self.created_at = time.time()
        self.last_used = time.monotonic()
        self.active_calls = 0
        self.closed = False
        self.local_commands: dict[str, Command] = {}
        """Commands that exist only in this session (e.g. Elixir tool proxies)."""
        self._ready = False
        """False while the ``session_created`` hooks run; other users of the id wait for them."""

    def lookup(self, name: str) -> Command | None:
        return self.local_commands.get(name)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metadata": dict(self.metadata),
            "explicit": self.explicit,
            "created_at": self.created_at,
            "idle_seconds": round(time.monotonic() - self.last_used, 3),
            "active_calls": self.active_calls,
            "local_commands": sorted(self.local_commands),
        }


SessionHook = Callable[[Session], None]
CloseHook = Callable[[Session, str], None]


class SessionStore:
    """Thread-safe table of live sessions with TTL expiry and least-recently-used eviction."""

    def __init__(
        self,
        ttl: float = 3600.0,
        max_sessions: int = 10_000,
        on_created: SessionHook | None = None,
        on_closed: CloseHook | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_sessions = max(1, max_sessions)
        self._on_created = on_created
        self._on_closed = on_closed
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        """Least recently used first: every use moves a session to the end."""
        self._lock = threading.Lock()
        self._created = threading.Condition(self._lock)
        self._waiting = 0
        """Callers waiting for another's ``session_created`` hooks to finish."""
        self._reaper: threading.Thread | None = None
        self._reaping = False
        """:meth:`start_reaper` was called: the first session starts the thread."""
        self._stop = threading.Event()
        self.evicted = 0
        """Sessions evicted so far to make room (``describe`` shows it)."""
        self._evictions_logged_at = -EVICTION_LOG_SECONDS
        self._evictions_unlogged = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def _touch(self, session: Session) -> None:
        with self._lock:
            session.last_used = time.monotonic()
            if self._sessions.get(session.id) is session:
                self._sessions.move_to_end(session.id)

    def get(self, session_id: str) -> Session | None:
        """The live session, or None; touches it."""
        session = self._sessions.get(session_id)
        if session is not None:
            self._touch(session)
        return session

    def require(self, session_id: str) -> Session:
        session = self.get(session_id)
        if session is None:
            raise NotFound(f"unknown session '{session_id}'")
        return session

    def ensure(
        self, session_id: str, metadata: dict[str, str] | None = None, *, explicit: bool = False
    ) -> tuple[Session, bool]:
        """The session with this id, created if needed, and whether it was (``explicit``: by InitializeSession)."""
        session = self._sessions.get(session_id)
        if session is None:
            check_session_id(session_id)
            evicted = None
            with self._lock:
                session = self._sessions.get(session_id)
                if session is None:
                    if len(self._sessions) >= self.max_sessions:
                        evicted = self._make_room()
                    session = Session(session_id, metadata, explicit=explicit)
                    self._sessions[session_id] = session
                    created = True
                else:
                    created = False
            if evicted is not None:
                self._finish(evicted, "evicted")
            if created and self._reaping and self._reaper is None:
                self._launch_reaper()
            if created:
                try:
                    if self._on_created is not None:
                        self._on_created(session)
                finally:
                    with self._lock:
                        session._ready = True
                        if self._waiting:  # notify_all is not free, and nobody is waiting almost always
                            self._created.notify_all()
                return session, True
        if not session._ready:
            with self._lock:
                self._waiting += 1
                try:
                    while not session._ready:
                        self._created.wait()
                finally:
                    self._waiting -= 1
        if metadata:
            session.metadata.update(metadata)
        self._touch(session)
        return session, False

    def _make_room(self) -> Session:
        """Unlink the least recently used idle session and return it; the caller holds the lock.

        An implicit one among the oldest :data:`EVICTION_SCAN` goes first (so
        the worker's own session, which Snakepit initialised and heartbeats
        touch, outlives a flood of throwaway ones); else the oldest idle one.
        Busy sessions are never taken.
        """
        idle = (s for s in self._sessions.values() if not s.active_calls and s._ready)
        victim = next((s for s in islice(idle, EVICTION_SCAN) if not s.explicit), None)
        if victim is None:
            victim = next((s for s in self._sessions.values() if not s.active_calls and s._ready), None)
        if victim is None:
            raise ResourceExhausted(
                f"session limit of {self.max_sessions} reached and every session has a call running; "
                "retry later, clean up sessions or raise --max-sessions"
            )
        del self._sessions[victim.id]
        self.evicted += 1
        self._log_eviction(victim)
        return victim

    def _log_eviction(self, victim: Session) -> None:
        now = time.monotonic()
        self._evictions_unlogged += 1
        if now - self._evictions_logged_at < EVICTION_LOG_SECONDS:
            return
        log.warning(
            "session limit of %d reached: evicted %d idle session(s) to make room, most recently '%s' "
            "(idle %.0f s); raise --max-sessions if callers need more",
            self.max_sessions,
            self._evictions_unlogged,
            victim.id[:100],
            now - victim.last_used,
        )
        self._evictions_logged_at = now
        self._evictions_unlogged = 0

    def acquire(self, session_id: str) -> Session:
        """Hold a session for a call (it cannot expire or be evicted meanwhile); pair with :meth:`release`."""
        session = self._sessions.get(session_id)
        if session is None or not session._ready:
            session = self.ensure(session_id)[0]
        with self._lock:
            session.active_calls += 1
            session.last_used = time.monotonic()
            if self._sessions.get(session_id) is session:
                self._sessions.move_to_end(session_id)
        return session

    def release(self, session: Session) -> None:
        with self._lock:
            session.active_calls -= 1
            session.last_used = time.monotonic()
            if self._sessions.get(session.id) is session:
                self._sessions.move_to_end(session.id)

    def release_once(self, session: Session) -> Callable[[], None]:
        """:meth:`release` as a callable that acts the first time only.

        A stream's end and its cancellation both call it, perhaps at once from two threads.
        """
        held = [session]

        def release() -> None:
            try:
                first = held.pop()  # atomic: of two threads calling at once, one gets the session
            except IndexError:
                return
            self.release(first)

        return release

    def close(self, session_id: str, reason: str = "cleanup") -> Session | None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            self._finish(session, reason)
        return session

    def close_all(self, reason: str = "shutdown") -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            self._finish(session, reason)

    def sweep(self) -> list[str]:
        """Close sessions idle for longer than the TTL; returns their ids.

        Only the oldest sessions are looked at: the table is in order of last
        use, so the first one used within the TTL ends the search.
        """
        deadline = time.monotonic() - self.ttl
        expired = []
        with self._lock:
            for session in self._sessions.values():
                if session.last_used >= deadline:
                    break
                if session.active_calls == 0 and session._ready:
                    expired.append(session)
            for session in expired:
                del self._sessions[session.id]
        for session in expired:
            self._finish(session, "expired")
        return [s.id for s in expired]

    def _finish(self, session: Session, reason: str) -> None:
        session.closed = True
        if self._on_closed is not None:
            self._on_closed(session, reason)

    def describe(self) -> dict[str, Any]:
        return {"count": len(self), "max": self.max_sessions, "ttl_seconds": self.ttl, "evicted": self.evicted}

    def start_reaper(self) -> None:
        """Sweep in a daemon thread, a few times per TTL (at least every 30 s), once there is a session.

        The thread starts with the first session, not here: a worker's start
        (this runs before it is ready) makes no thread it does not need yet.
        """
        self._reaping = self.ttl > 0
        if self._sessions:
            self._launch_reaper()

    def _launch_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None or self._stop.is_set():
                return
            interval = min(max(self.ttl / 4, 0.05), 30.0)

            def run() -> None:
                while not self._stop.wait(interval):
                    self.sweep()

            self._reaper = threading.Thread(target=run, name="snakepit-session-reaper", daemon=True)
            self._reaper.start()

    def stop_reaper(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=1.0)
            self._reaper = None
