"""Call statistics since start: what ``snakepit-host stats`` and the ``stats`` command show.

Per command: calls, errors, total and largest duration, and a histogram of
durations with 8 buckets per doubling (from 1 us to about 70 minutes), from
which percentiles are read to within about 4.5 %. Memory is bounded: a
command costs a fixed 2 KiB, and at most :data:`MAX_COMMANDS` names are
kept apart (names come from the wire: later ones are counted under
:data:`OTHER`). Recording a call is one lock, one dict lookup and a few
additions: well under a microsecond (``bench/bench_observability.py``).
"""

from __future__ import annotations

import math
import os
import threading
from array import array
from typing import Any

MAX_COMMANDS = 128
OTHER = "(other)"
"""Where calls of command names beyond the first :data:`MAX_COMMANDS` are counted."""
BUCKETS_PER_DOUBLING = 8
BUCKETS = 256
PERCENTILES = (50, 90, 99)


def _bucket(seconds: float) -> int:
    micros = seconds * 1e6
    if micros <= 1.0:
        return 0
    return min(int(math.log2(micros) * BUCKETS_PER_DOUBLING), BUCKETS - 1)


def _bucket_value(index: int) -> float:
    """The geometric middle of a bucket, in seconds."""
    return float(2 ** ((index + 0.5) / BUCKETS_PER_DOUBLING) / 1e6)


class CommandStats:
    __slots__ = ("buckets", "calls", "errors", "max", "total")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.total = 0.0
        self.max = 0.0
        self.buckets = array("Q", bytes(8 * BUCKETS))

    def percentile(self, percent: float) -> float:
        rank = math.ceil(self.calls * percent / 100)
        seen = 0
        for index, count in enumerate(self.buckets):
            seen += count
            if seen >= rank:
                return min(_bucket_value(index), self.max)
        return self.max

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "calls": self.calls,
            "errors": self.errors,
            "mean_ms": _ms(self.total / self.calls) if self.calls else 0.0,
        }
        for percent in PERCENTILES:
            summary[f"p{percent}_ms"] = _ms(self.percentile(percent)) if self.calls else 0.0
        summary["max_ms"] = _ms(self.max)
        return summary


def _ms(seconds: float) -> float:
    milliseconds = seconds * 1000
    return round(milliseconds, 3 if milliseconds < 10 else 1)


class CallStats:
    """Counts and latency histograms per command, plus open and served streams, since the host started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._commands: dict[str, CommandStats] = {}
        self._streams: dict[str, list[int]] = {}  # RPC -> [open, served]

    def record(self, name: str, seconds: float, ok: bool) -> None:
        """One finished call of ``name`` (a stream counts when it ends)."""
        with self._lock:
            stats = self._commands.get(name)
            if stats is None:
                stats = self._add(name)
            stats.calls += 1
            if not ok:
                stats.errors += 1
            stats.total += seconds
            if seconds > stats.max:
                stats.max = seconds
            stats.buckets[_bucket(seconds)] += 1

    def _add(self, name: str) -> CommandStats:
        if len(self._commands) >= MAX_COMMANDS:
            name = OTHER
            existing = self._commands.get(name)
            if existing is not None:
                return existing
        stats = self._commands[name] = CommandStats()
        return stats

    def stream_opened(self, rpc: str) -> None:
        with self._lock:
            self._streams.setdefault(rpc, [0, 0])[0] += 1

    def stream_closed(self, rpc: str) -> None:
        with self._lock:
            counts = self._streams[rpc]
            counts[0] -= 1
            counts[1] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            commands = {name: stats.summary() for name, stats in sorted(self._commands.items())}
            streams = {rpc: {"open": counts[0], "ended": counts[1]} for rpc, counts in sorted(self._streams.items())}
        return {
            "calls": sum(c["calls"] for c in commands.values()),
            "errors": sum(c["errors"] for c in commands.values()),
            "commands": commands,
            "streams": streams,
        }


def process_figures() -> dict[str, Any]:
    """This process's id, resident memory now and at its peak, and threads."""
    import resource

    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    try:
        with open("/proc/self/statm", "rb") as handle:
            rss = int(handle.read().split()[1]) * page
    except OSError:  # not Linux: the peak is the best there is
        rss = None
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, rss or 0)  # sampled at other times
    return {"pid": os.getpid(), "rss_bytes": rss, "peak_rss_bytes": peak, "threads": threading.active_count()}
