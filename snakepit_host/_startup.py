"""The worker's start-up timeline: when each phase of a start ended.

Snakepit starts a worker per pool slot and restarts them all the time, so
the time to readiness multiplies. Each phase is stamped once with the wall
clock (``time.time()``, which the process that spawned the worker can
compare with its own clock) and the process's CPU time (steadier than wall
time on a busy machine), and ``describe`` shows the stamps under
``host.startup``; ``bench/bench_host.py`` prints them as a timeline. A stamp
costs about a microsecond. Only the process's first start is kept: stamps
after ``ready`` (a test process serving host after host) are ignored.

:func:`pause_gc` and :func:`resume_gc` keep Python's cyclic garbage
collector out of a worker's start: importing and registering allocate
hundreds of thousands of objects, which set off dozens of collections (a
quarter of the start-up's CPU on a 2-core machine), and almost none of those
objects is garbage (a few hundred are). Once the worker is ready the
start-up's objects are frozen (``gc.freeze``: later collections skip them,
so they stay cheap too) and the collector runs as usual.
"""

from __future__ import annotations

import gc
import time

MAX_PHASES = 32
_phases: list[tuple[str, float, float]] = []


def mark(phase: str) -> None:
    """Note that ``phase`` ended now."""
    if len(_phases) < MAX_PHASES and not (_phases and _phases[-1][0] == "ready"):
        _phases.append((phase, time.time(), time.process_time()))


def timeline() -> list[dict[str, float | str]]:
    """Every phase in order: when it ended (``at``, seconds since the epoch) and the CPU seconds used by then."""
    return [{"phase": phase, "at": at, "cpu": cpu} for phase, at, cpu in _phases]


_gc_paused = False


def pause_gc() -> None:
    """Hold the cyclic garbage collector until :func:`resume_gc` (a serving process's own start only)."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def resume_gc() -> None:
    """The worker is ready (or will not serve): freeze what start-up made and collect as usual again."""
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()
