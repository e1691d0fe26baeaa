"""Subscriptions to variable changes.

A :class:`Watch` is a blocking iterator fed by the session's writers. It
holds no thread of its own: the consumer's thread waits on a condition, so
closing it (client cancelled, session closed, ``with`` block left) wakes that
thread at once and nothing is left running. When the store can change
behind Python's back (the Elixir store), the waiting consumer polls it every
``poll_interval`` seconds so that those changes arrive too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from snakepit_host import SnakepitError
from snakepit_variables.model import ChangeEvent

log = logging.getLogger("snakepit_variables")

MAX_PENDING = 1024
"""Events kept for a slow consumer; older ones are dropped (counted in ``dropped``)."""


class Watch:
    """Changes of the variables whose names match ``patterns`` (names or globs)."""

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        poll: Callable[[], None] | None = None,
        poll_interval: float = 1.0,
        on_close: Callable[[Watch], None] | None = None,
    ) -> None:
        self.patterns = tuple(patterns) or ("*",)
        self.dropped = 0
        self._poll = poll
        self._poll_interval = max(poll_interval, 0.01)
        self._on_close = on_close
        self._events: deque[ChangeEvent] = deque()
        self._closed = False
        self._condition = threading.Condition()

    def matches(self, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in self.patterns)

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, event: ChangeEvent) -> None:
        with self._condition:
            if self._closed:
                return
            if len(self._events) >= MAX_PENDING:
                self._events.popleft()
                self.dropped += 1
            self._events.append(event)
            self._condition.notify()

    def get(self, timeout: float | None = None) -> ChangeEvent | None:
        """The next event; None once closed, or when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._condition:
                if self._closed:
                    return None
                if self._events:
                    return self._events.popleft()
                waits = [self._poll_interval] if self._poll is not None else []
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    waits.append(remaining)
                self._condition.wait(min(waits) if waits else None)
                if self._events or self._closed:
                    continue
            self._poll_quietly()

    def _poll_quietly(self) -> None:
        if self._poll is None:
            return
        try:
            self._poll()
        except SnakepitError as exc:
            log.warning("watch of %s could not refresh: %s", ", ".join(self.patterns), exc)

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> ChangeEvent:
        event = self.get()
        if event is None:
            raise StopIteration
        return event

    def close(self) -> None:
        """End the iteration now, dropping pending events (idempotent, callable from any thread)."""
        with self._condition:
            if self._closed:
                return
            self._closed = True
            self._events.clear()
            self._condition.notify_all()
        if self._on_close is not None:
            self._on_close(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
