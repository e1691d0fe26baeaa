"""One background event loop for async handlers, started on first need.

The gRPC server runs handlers on its thread pool. ``async def`` handlers and
async generators are run on a single shared loop in a daemon thread, so a
host whose plugins are all synchronous never starts it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TypeVar

from snakepit_host._errors import DeadlineExceeded

T = TypeVar("T")


class BackgroundLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._loop is not None

    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    ready = threading.Event()

                    def run() -> None:
                        asyncio.set_event_loop(loop)
                        loop.call_soon(ready.set)
                        loop.run_forever()

                    self._thread = threading.Thread(target=run, name="snakepit-async", daemon=True)
                    self._thread.start()
                    ready.wait()
                    self._loop = loop
        return self._loop

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future[T]:
        async def wrap() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop())

    def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run to completion on the loop; on timeout cancel it and raise DeadlineExceeded."""
        future = self.submit(awaitable)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeadlineExceeded(f"timed out after {timeout:g} s") from None
        except concurrent.futures.CancelledError:
            raise DeadlineExceeded("cancelled") from None

    def iterate(self, iterator: AsyncIterator[T], timeout: float | None = None) -> Iterator[T]:
        """Pull items from an async iterator one at a time (natural backpressure).

        The async generator is closed on the loop however the consumer stops.
        """
        try:
            while True:
                try:
                    yield self.run(iterator.__anext__(), timeout)
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                try:
                    self.run(aclose(), timeout=5.0)
                except Exception:  # closing must never mask the real outcome
                    pass

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=2.0)
            self._loop = None
