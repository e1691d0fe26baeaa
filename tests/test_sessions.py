"""Session store: creation on first use, TTL, the bounded table and its eviction, hooks."""

from __future__ import annotations

import threading
import time

import pytest

from snakepit_host._errors import InvalidArgument, NotFound, ResourceExhausted
from snakepit_host._sessions import Session, SessionStore


def test_created_once_even_under_concurrent_first_use() -> None:
    created: list[str] = []

    def on_created(session: Session) -> None:
        time.sleep(0.05)
        created.append(session.id)

    store = SessionStore(on_created=on_created)
    barrier = threading.Barrier(8)
    seen: list[Session] = []

    def use() -> None:
        barrier.wait()
        seen.append(store.ensure("shared")[0])

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created == ["shared"] and len({id(s) for s in seen}) == 1


def test_at_the_limit_the_least_recently_used_idle_session_makes_room() -> None:
    closed: list[tuple[str, str]] = []
    store = SessionStore(max_sessions=3, on_closed=lambda s, reason: closed.append((s.id, reason)))
    for name in ("a", "b", "c"):
        store.ensure(name)
    store.get("a")  # used again: "b" is now the least recently used
    store.ensure("d")
    assert store.ids() == ["c", "a", "d"] and closed == [("b", "evicted")]
    assert store.evicted == 1 and store.describe()["evicted"] == 1
    assert store.get("b") is None  # gone: a later call starts it afresh


def test_a_busy_session_is_never_evicted_and_a_full_busy_table_refuses_clearly() -> None:
    store = SessionStore(max_sessions=2)
    held = [store.acquire("a"), store.acquire("b")]
    with pytest.raises(ResourceExhausted, match="session limit of 2 reached and every session has a call running"):
        store.ensure("c")
    assert store.ids() == ["a", "b"]
    store.release(held[0])  # "a" is idle now, though used more recently than "b"
    store.ensure("c")
    assert store.ids() == ["b", "c"]
    store.release(held[1])


def test_implicit_sessions_are_evicted_before_explicit_ones() -> None:
    store = SessionStore(max_sessions=3)
    store.ensure("worker", explicit=True)  # Snakepit's InitializeSession: the oldest, but kept
    store.ensure("x")
    store.ensure("y")
    for n in range(5):
        store.ensure(f"flood-{n}")
    assert store.ids()[0] == "worker" and len(store) == 3
    worker = store.get("worker")
    assert worker is not None and worker.explicit


@pytest.mark.parametrize("bad", ["", "x" * 300, "tab\there", None, 5])
def test_session_ids_are_checked(bad: object) -> None:
    with pytest.raises(InvalidArgument):
        SessionStore().ensure(bad)  # type: ignore[arg-type]


def test_sweep_expires_idle_sessions_only() -> None:
    closed: list[tuple[str, str]] = []
    store = SessionStore(ttl=0.05, on_closed=lambda s, reason: closed.append((s.id, reason)))
    store.ensure("idle")
    busy = store.acquire("busy")
    try:
        time.sleep(0.1)
        assert store.sweep() == ["idle"]
    finally:
        store.release(busy)
    assert closed == [("idle", "expired")] and store.get("busy") is not None


def test_sweep_stops_at_the_first_session_used_within_the_ttl() -> None:
    store = SessionStore(ttl=0.2)
    store.ensure("old")
    time.sleep(0.3)
    store.ensure("new")
    store.get("new")
    assert store.sweep() == ["old"] and store.ids() == ["new"]


def test_state_is_per_session_and_dropped_with_it() -> None:
    store = SessionStore()
    first, _ = store.ensure("one")
    counter = first.state("plugin", lambda: {"n": 0})
    counter["n"] += 1
    assert first.state("plugin", dict) == {"n": 1}
    assert store.ensure("two")[0].get_state("plugin") is None
    store.close("one")
    with pytest.raises(NotFound):
        store.require("one")
    assert first.closed
