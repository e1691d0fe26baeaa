"""Plugin-owned state attached to a host or a session, created on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_LOCK_FOR_LOCKS = threading.Lock()


class PluginState:
    """A small keyed store: ``obj.state("variables", factory)`` returns one object per key.

    Plugins use their own name as key. Creation is locked, so concurrent
    first uses still make exactly one object; reads after that take no lock.
    The lock itself is made on the first creation: most sessions never hold
    plugin state, and a host may keep thousands of them.
    """

    def __init__(self) -> None:
        self._state: dict[str, Any] = {}
        self._state_lock: threading.RLock | None = None

    def state(self, key: str, factory: Callable[[], T]) -> T:
        """The value stored under ``key``, created by ``factory()`` on first use."""
        try:
            return self._state[key]  # type: ignore[no-any-return]
        except KeyError:
            with self._creation_lock():
                if key not in self._state:
                    self._state[key] = factory()
                return self._state[key]  # type: ignore[no-any-return]

    def _creation_lock(self) -> threading.RLock:
        lock = self._state_lock
        if lock is None:
            with _LOCK_FOR_LOCKS:
                lock = self._state_lock
                if lock is None:
                    lock = self._state_lock = threading.RLock()
        return lock

    def state_items(self) -> list[tuple[str, Any]]:
        """Every (key, object) created so far."""
        return list(self._state.items())

    def get_state(self, key: str, default: Any = None) -> Any:
        return self._state.get(key, default)

    def pop_state(self, key: str, default: Any = None) -> Any:
        """Remove and return the value under ``key`` (e.g. when the plugin shuts it down)."""
        with self._creation_lock():
            return self._state.pop(key, default)
