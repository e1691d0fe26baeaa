"""Session counting: what the lifecycle hooks record and the ``example_sessions`` command reports.

The counts live in ``host.status["example"]`` rather than in module globals,
so ``snakepit-host describe`` shows them and several hosts in one process
(tests) keep separate counts. Hooks run on the gRPC threads and the
session reaper, hence the lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host import Host, SessionContext

STATUS_KEY = "example"
_lock = threading.Lock()


def _counts(host: Host) -> dict[str, Any]:
    return host.status.setdefault(STATUS_KEY, {"open": 0, "created": 0, "closed": 0, "closed_by_reason": {}})


def reset(host: Host) -> None:
    with _lock:
        host.status.pop(STATUS_KEY, None)
        _counts(host)


def opened(host: Host) -> None:
    with _lock:
        counts = _counts(host)
        counts["created"] += 1
        counts["open"] += 1


def closed(host: Host, reason: str) -> None:
    with _lock:
        counts = _counts(host)
        counts["closed"] += 1
        counts["open"] = max(0, counts["open"] - 1)
        counts["closed_by_reason"][reason] = counts["closed_by_reason"].get(reason, 0) + 1


def session_stats(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """How many sessions this worker has seen: open, created, closed (by reason).

    It takes no parameters: its schema says so, and the host refuses any.
    """
    with _lock:
        counts = _counts(ctx.host)
        return {**counts, "closed_by_reason": dict(counts["closed_by_reason"])}
