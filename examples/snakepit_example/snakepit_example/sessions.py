"""Session counting: what the lifecycle hooks record and the ``example_sessions`` command reports.

The counts live in a :class:`SessionCounts` kept with ``host.state("example", ...)``
rather than in module globals, so several hosts in one process (tests) keep
separate counts, and ``snakepit-host describe`` shows them under
``status.example`` (the host shows the ``status()`` of every such object).
Hooks run on the gRPC threads and the session reaper, hence the lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host import Host, SessionContext

STATE_KEY = "example"


class SessionCounts:
    """Sessions this host has seen: open, created, closed (by reason)."""

    def __init__(self) -> None:
        self.open = 0
        self.created = 0
        self.closed = 0
        self.closed_by_reason: dict[str, int] = {}
        self._lock = threading.Lock()

    def opened(self) -> None:
        with self._lock:
            self.created += 1
            self.open += 1

    def ended(self, reason: str) -> None:
        with self._lock:
            self.closed += 1
            self.open = max(0, self.open - 1)
            self.closed_by_reason[reason] = self.closed_by_reason.get(reason, 0) + 1

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "open": self.open,
                "created": self.created,
                "closed": self.closed,
                "closed_by_reason": dict(self.closed_by_reason),
            }


def counts(host: Host) -> SessionCounts:
    return host.state(STATE_KEY, SessionCounts)


def session_stats(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """How many sessions this worker has seen: open, created, closed (by reason).

    It takes no parameters: its schema says so, and the host refuses any.
    """
    return counts(ctx.host).status()
