"""What the stores shared by several workers (sqlite, redis) have in common.

Such a store is the one place a variable lives for every worker of a pool,
so it also keeps what a single process used to keep for itself: each
variable's bounded history, and a log of changes in commit order. Watchers
read that log (:class:`ChangeFeed`), so a write made by any worker reaches
every worker's watchers, in order, once.

Sessions are shared too. A session's data is removed from the store only
when no worker has used it for the session TTL: when this worker closes a
session (its own TTL ran out, or it shuts down) the data stays if another
worker used it since, and a sweep removes sessions every worker abandoned
(a recycled or killed worker never closes its sessions).
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from snakepit_host import SnakepitError
from snakepit_variables.history import HISTORY_VALUE_BYTES, within_budget
from snakepit_variables.model import ChangeEvent, Variable
from snakepit_variables.stored_values import decode_value, encode_value
from snakepit_variables.stores import EntryList, VariableStore

if TYPE_CHECKING:
    from snakepit_host import ValueType

log = logging.getLogger("snakepit_variables")

LOG_RETENTION_SECONDS = 30.0
"""Logged changes stay at least this long, so a watcher's feed that falls behind less than this loses nothing."""
SWEEP_INTERVAL_SECONDS = 60.0
TOUCH_FRACTION = 0.1
"""A session's last use is written at most every TTL x this (writes always record it)."""
LoggedChanges = list[tuple[str, ChangeEvent]]


class LogGap(SnakepitError):
    """Changes were removed from the log before this worker read them."""

    def __init__(self, reason: str, cursor: Any) -> None:
        super().__init__(reason)
        self.cursor = cursor


class SharedStore(VariableStore):
    """Base of the stores many workers share; subclasses provide storage and the change log."""

    logs_changes = True
    feed_wait: ClassVar[float] = 0.0
    """Seconds the feed waits between empty reads (0: the log read itself blocks)."""

    def __init__(self, value_type: Callable[[str], ValueType], *, history_limit: int, session_ttl: float) -> None:
        super().__init__()
        self._value_type = value_type
        self.history_limit = history_limit
        self.session_ttl = session_ttl
        self._touched: dict[str, float] = {}
        self._last_sweep = 0.0
        self._closed = False
        self._feed = ChangeFeed(self)

    # ------------------------------------------------------------ values

    def encoded(self, variable: Variable) -> tuple[str, bytes | None, int]:
        """(JSON text, raw bytes, size) of a variable's value."""
        text, binary = encode_value(self._value_type(variable.type), variable.value)
        return text, binary, len(text) + len(binary or b"")

    def decoded(self, type_name: str, name: str, text: str, binary: bytes | None) -> Any:
        return decode_value(self._value_type(type_name), name, text, binary)

    @staticmethod
    def logged_value(size: int) -> bool:
        """Whether the log and history hold a value of this size (larger ones: metadata only)."""
        return size <= HISTORY_VALUE_BYTES

    # ------------------------------------------------------------ sessions

    def needs_touch(self, session_id: str) -> bool:
        """Whether this read should record the session's last use (throttled; writes always do)."""
        now = time.monotonic()
        if now - self._touched.get(session_id, -1e18) < self.session_ttl * TOUCH_FRACTION:
            return False
        self._touched[session_id] = now
        return True

    def touched(self, session_id: str) -> None:
        self._touched[session_id] = time.monotonic()

    def due_for_sweep(self) -> bool:
        now = time.monotonic()
        if now - self._last_sweep < min(SWEEP_INTERVAL_SECONDS, max(self.session_ttl, 1.0)):
            return False
        self._last_sweep = now
        return True

    def drop_session(self, session_id: str) -> None:
        """This worker closed the session; the data goes only if no worker used it within the TTL.

        (Nothing is done once the store is closed: a worker shutting down leaves its sessions to the others.)
        """
        self._touched.pop(session_id, None)
        if not self._closed:
            self.expire_session(session_id, time.time() - self.session_ttl)

    @abc.abstractmethod
    def expire_session(self, session_id: str, unused_since: float) -> None:
        """Remove the session's data if no worker used it after ``unused_since``."""

    # ------------------------------------------------------------ history and log

    def history(self, session_id: str, variable: Variable) -> EntryList:
        return within_budget(self.history_entries(session_id, variable)[-self.history_limit :])

    @abc.abstractmethod
    def history_entries(self, session_id: str, variable: Variable) -> EntryList:
        """The logged versions of this variable (this incarnation), oldest first."""

    @abc.abstractmethod
    def log_cursor(self) -> Any:
        """The position after the newest logged change."""

    @abc.abstractmethod
    def read_log(self, cursor: Any) -> tuple[LoggedChanges, Any]:
        """Changes after ``cursor`` in commit order, and the new cursor; LogGap when some were trimmed."""

    def follow(self) -> Callable[[], None]:
        return self._feed.follow()

    def wake_feed(self) -> None:
        """A commit of this process: let the feed read it now rather than at its next poll."""
        self._feed.wake()

    def close(self) -> None:
        """Stop the change feed, and leave this worker's sessions to the others (connections stay for calls)."""
        self._closed = True
        self._feed.stop()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "location": self.location(), "watch_feed": self._feed.following}


class ChangeFeed:
    """One thread per store and process, running while watches are open, that reads the change log.

    Each change goes to the store's external-change callback (which notifies
    the session's matching watchers); a gap in the log goes to the log-gap
    callback (every watcher then ends with DATA_LOSS). Closing the last watch
    stops the thread after its current read.
    """

    def __init__(self, store: SharedStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._followers = 0
        self._generation = 0
        self._wake = threading.Event()

    @property
    def following(self) -> int:
        return self._followers

    def follow(self) -> Callable[[], None]:
        with self._lock:
            if self._followers == 0:
                cursor = self._store.log_cursor()  # before the watch lists its initial values: nothing is missed
                self._generation += 1
                threading.Thread(
                    target=self._run,
                    args=(self._generation, cursor),
                    name=f"snakepit-variables-{self._store.name}-feed",
                    daemon=True,
                ).start()
            self._followers += 1
        released = threading.Event()

        def unfollow() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                self._followers -= 1
                if self._followers == 0:
                    self._generation += 1
                    self._wake.set()

        return unfollow

    def wake(self) -> None:
        if self._followers:
            self._wake.set()

    def stop(self) -> None:
        with self._lock:
            self._followers = 0
            self._generation += 1
            self._wake.set()

    def _run(self, generation: int, cursor: Any) -> None:
        store = self._store
        failing = False
        while generation == self._generation:
            try:
                changes, cursor = store.read_log(cursor)
                failing = False
            except LogGap as gap:
                cursor = gap.cursor
                store.log_gap(str(gap))
                continue
            except Exception as exc:
                if generation != self._generation:
                    return  # the store was closed under the read
                if not isinstance(exc, SnakepitError):
                    raise
                if not failing:
                    log.warning("variables: the %s change feed cannot read the log: %s", store.name, exc)
                failing = True
                self._pause(max(store.feed_wait, 0.5))
                continue
            if generation != self._generation:
                return
            for session_id, event in changes:
                store.external_change(session_id, event)
            if not changes and store.feed_wait:
                self._pause(store.feed_wait)

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()
