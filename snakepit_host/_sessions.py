"""Sessions: per-caller scope with a time-to-live.

A session is created the first time its id is used (any call may carry it)
or by InitializeSession, and closed by CleanupSession, by expiry after
``ttl`` seconds without use, or at shutdown. A session with a call in
flight never expires under that call. Plugins keep per-session data in
:meth:`Session.state`, which is dropped with the session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from snakepit_host._errors import NotFound, ResourceExhausted
from snakepit_host._names import check_key
from snakepit_host._plugin_state import PluginState

if TYPE_CHECKING:
    from snakepit_host._registry import Command

T = TypeVar("T")

DEFAULT_SESSION_ID = "default_session"
MAX_SESSION_ID_LENGTH = 256


def check_session_id(session_id: object) -> str:
    """Session ids are short printable strings that are not paths; anything else is refused."""
    return check_key("session id", session_id, MAX_SESSION_ID_LENGTH)


class Session(PluginState):
    """One caller's scope: metadata, plugin state and session-local commands.

    Plugins keep per-session data with :meth:`state` (keyed by plugin name);
    it is dropped with the session.
    """

    def __init__(self, session_id: str, metadata: dict[str, str] | None = None) -> None:
        super().__init__()
        self.id = session_id
        self.metadata: dict[str, str] = dict(metadata or {})
        self.created_at = time.time()
        self.last_used = time.monotonic()
        self.active_calls = 0
        self.closed = False
        self.local_commands: dict[str, Command] = {}
        """Commands that exist only in this session (e.g. Elixir tool proxies)."""
        self._lock = threading.RLock()
        self._ready = threading.Event()

    def lookup(self, name: str) -> Command | None:
        return self.local_commands.get(name)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metadata": dict(self.metadata),
            "created_at": self.created_at,
            "idle_seconds": round(time.monotonic() - self.last_used, 3),
            "active_calls": self.active_calls,
            "local_commands": sorted(self.local_commands),
        }


SessionHook = Callable[[Session], None]
CloseHook = Callable[[Session, str], None]


class SessionStore:
    """Thread-safe table of live sessions with TTL expiry."""

    def __init__(
        self,
        ttl: float = 3600.0,
        max_sessions: int = 10_000,
        on_created: SessionHook | None = None,
        on_closed: CloseHook | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._on_created = on_created
        self._on_closed = on_closed
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    def __len__(self) -> int:
        return len(self._sessions)

    def ids(self) -> list[str]:
        return list(self._sessions)

    def get(self, session_id: str) -> Session | None:
        """The live session, or None; touches it."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.last_used = time.monotonic()
        return session

    def require(self, session_id: str) -> Session:
        session = self.get(session_id)
        if session is None:
            raise NotFound(f"unknown session '{session_id}'")
        return session

    def ensure(self, session_id: str, metadata: dict[str, str] | None = None) -> tuple[Session, bool]:
        """The session with this id, created if needed; also says whether it was created."""
        session = self._sessions.get(session_id)
        created = False
        if session is None:
            check_session_id(session_id)
            with self._lock:
                session = self._sessions.get(session_id)
                if session is None:
                    if len(self._sessions) >= self.max_sessions:
                        raise ResourceExhausted(
                            f"session limit of {self.max_sessions} reached; clean up sessions or raise --max-sessions"
                        )
                    session = Session(session_id, metadata)
                    self._sessions[session_id] = session
                    created = True
            if created:
                try:
                    if self._on_created is not None:
                        self._on_created(session)
                finally:
                    session._ready.set()
        if not created:
            session._ready.wait()
            if metadata:
                session.metadata.update(metadata)
        session.last_used = time.monotonic()
        return session, created

    def acquire(self, session_id: str) -> Session:
        """Hold a session for a call (it cannot expire meanwhile); pair with :meth:`release`."""
        session = self._sessions.get(session_id)
        if session is None or not session._ready.is_set():
            session, _ = self.ensure(session_id)
        with session._lock:
            session.active_calls += 1
        return session

    @staticmethod
    def release(session: Session) -> None:
        with session._lock:
            session.active_calls -= 1
        session.last_used = time.monotonic()

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
        """Close sessions idle for longer than the TTL; returns their ids."""
        deadline = time.monotonic() - self.ttl
        with self._lock:
            expired = [s for s in self._sessions.values() if s.active_calls == 0 and s.last_used < deadline]
            for session in expired:
                del self._sessions[session.id]
        for session in expired:
            self._finish(session, "expired")
        return [s.id for s in expired]

    def _finish(self, session: Session, reason: str) -> None:
        session.closed = True
        if self._on_closed is not None:
            self._on_closed(session, reason)

    def start_reaper(self) -> None:
        """Sweep in a daemon thread, a few times per TTL (at least every 30 s)."""
        if self._reaper is not None or self.ttl <= 0:
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
