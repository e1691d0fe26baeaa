"""Subscriptions to variable changes.

A :class:`Watch` is a blocking iterator fed by the session's writers. It
holds no thread of its own: the consumer's thread waits on a condition, so
closing it (client cancelled, session closed, ``with`` block left) wakes that
thread at once and nothing is left running. When the store can change
behind Python's back (the Elixir store), the waiting consumer polls it every
``poll_interval`` seconds so that those changes arrive too.

A watch never drops an event silently. Each variable's versions arrive in
order and once (an older or repeated version is skipped). A consumer that
falls more than :data:`MAX_PENDING` events or :data:`MAX_PENDING_BYTES`
behind first receives what is queued, then the iteration raises
:class:`WatchLagged` (gRPC ``DATA_LOSS``) saying how many changes it missed;
watching again with initial values resynchronises it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from fnmatch import translate

from snakepit_host import InvalidArgument, SnakepitError
from snakepit_variables.model import ChangeEvent

log = logging.getLogger("snakepit_variables")

MAX_PENDING = 1024
"""Events queued for a slow consumer before the watch gives up on it."""
MAX_PENDING_BYTES = 16 * 1024 * 1024
"""Bytes of values queued for a slow consumer before the watch gives up on it."""
MAX_PATTERNS = 1024
"""Names or globs one watch may follow: each write of the session is matched against them."""
MAX_PATTERN_LENGTH = 256


class WatchLagged(SnakepitError):
    """The watch missed changes (its consumer fell behind, or the store's log lost them): watch again."""

    status = "DATA_LOSS"


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
        self.matches = _matcher(self.patterns)
        """Whether a variable name is one this watch follows (one set lookup and one regex, however many patterns)."""
        self.dropped = 0
        """Changes not delivered since the watch failed."""
        self._poll = poll
        self._poll_interval = max(poll_interval, 0.01)
        self._on_close = on_close
        self._events: deque[tuple[ChangeEvent, int]] = deque()
        self._pending_bytes = 0
        self._versions: dict[str, int] = {}
        self._failure: str | None = None
        self._closed = False
        self._condition = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, event: ChangeEvent, size: int = 0) -> None:
        """Queue a change (``size``: about how many bytes its value holds)."""
        with self._condition:
            if self._closed or not self._is_new(event):
                return
            if self._failure is None and (
                len(self._events) >= MAX_PENDING or (self._events and self._pending_bytes + size > MAX_PENDING_BYTES)
            ):
                self._failure = (
                    f"the consumer fell behind (more than {MAX_PENDING} changes or {MAX_PENDING_BYTES} bytes pending)"
                )
            if self._failure is not None:
                self.dropped += 1
                self._condition.notify()
                return
            self._events.append((event, size))
            self._pending_bytes += size
            self._condition.notify()

    def _is_new(self, event: ChangeEvent) -> bool:
        """Each variable's versions once and in order (a feed and the initial values may overlap)."""
        variable = event.variable
        if event.kind == "deleted":
            self._versions.pop(variable.id, None)
            return True
        last = self._versions.get(variable.id)
        if last is not None and variable.version <= last:
            return False
        self._versions[variable.id] = variable.version
        return True

    def fail(self, reason: str) -> None:
        """Changes were lost upstream: end the watch with DATA_LOSS once what is queued is delivered."""
        with self._condition:
            if not self._closed and self._failure is None:
                self._failure = reason
                self._condition.notify()

    def get(self, timeout: float | None = None) -> ChangeEvent | None:
        """The next event; None once closed, or when ``timeout`` seconds pass first.

        Raises :class:`WatchLagged` once the queued events are delivered, if the watch missed changes.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._condition:
                if self._closed:
                    return None
                if self._events:
                    event, size = self._events.popleft()
                    self._pending_bytes -= size
                    return event
                if self._failure is not None:
                    missed = f"; {self.dropped} later change(s) were not delivered" if self.dropped else ""
                    raise WatchLagged(
                        f"watch of {', '.join(self.patterns)[:200]}: {self._failure}{missed}; "
                        "watch again with initial values to resynchronise"
                    )
                waits = [self._poll_interval] if self._poll is not None else []
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    waits.append(remaining)
                self._condition.wait(min(waits) if waits else None)
                if self._events or self._closed or self._failure is not None:
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


def check_patterns(patterns: list[str]) -> list[str]:
    """``patterns`` when a watch may follow them; InvalidArgument naming the limit otherwise."""
    if len(patterns) > MAX_PATTERNS:
        raise InvalidArgument(f"a watch follows at most {MAX_PATTERNS} names or patterns, got {len(patterns):,}")
    for pattern in patterns:
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidArgument(
                f"watch pattern {pattern!r:.60} is not a string of at most {MAX_PATTERN_LENGTH} characters"
            )
    return patterns


def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    names = frozenset(p for p in patterns if not _GLOB.search(p))
    globs = [p for p in patterns if _GLOB.search(p)]
    if not globs:
        return names.__contains__
    expression = re.compile("|".join(translate(p) for p in globs))

    def matches(name: str) -> bool:
        return name in names or expression.match(name) is not None

    return matches


_GLOB = re.compile(r"[*?\[]")
