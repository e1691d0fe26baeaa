import threading
from contextlib import contextmanager

from snakepit_bridge.base_adapter import BaseAdapter, ToolMetadata, tool

__all__ = ["ThreadSafeAdapter", "ToolMetadata", "thread_safe_method", "tool"]


class ThreadSafeAdapter(BaseAdapter):
    __thread_safe__ = True

    def __init__(self):
        super().__init__()
        self._lock = threading.RLock()

    @contextmanager
    def acquire_lock(self):
        with self._lock:
            yield


def thread_safe_method(func):
    func.__thread_safe__ = True
    return func
