"""Session store: creation on first use, TTL, limits, hooks."""

from __future__ import annotations

import threading
import time

import pytest

from snakepit_host._errors import InvalidArgument, NotFound, ResourceExhausted
from snakepit_host._sessions import Session, SessionStore


def test_created_once_even_under_concurrent_first_use() -> None:
    created: list[str] = []
    store = SessionStore(on_created=lambda s: (time.sleep(0.05), created.append(s.id)))
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


def test_limit_refuses_new_sessions_without_dropping_old_ones() -> None:
    store = SessionStore(max_sessions=2)
    store.ensure("a")
    store.ensure("b")
    with pytest.raises(ResourceExhausted, match="session limit of 2 reached"):
        store.ensure("c")
    assert sorted(store.ids()) == ["a", "b"]


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
