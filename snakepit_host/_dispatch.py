"""Running a command: sync or async, unary or streaming, with timeouts.

Synchronous handlers run inline on the gRPC worker thread (the fast path);
only when a timeout applies do they move to a helper thread so the caller
can be answered on time (at the timeout, or at the caller's deadline when
that comes first). The caller's deadline alone moves nothing: gRPC answers
the caller at its deadline anyway, and the handler sees it in
``ctx.cancelled`` and ``ctx.time_remaining()``. ``async def`` handlers and async generators run on
the shared background loop and are cancelled on timeout or when the client
goes away. A thread cannot be killed, so a synchronous handler that
overruns its timeout keeps its helper thread until it returns; the caller
gets its error at the deadline regardless.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import inspect
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from snakepit_host._errors import DeadlineExceeded, InvalidArgument
from snakepit_host.codec import PLAIN_TYPES

if TYPE_CHECKING:
    from snakepit_host._async_loop import BackgroundLoop
    from snakepit_host._context import SessionContext
    from snakepit_host._registry import Command

_timed_pool: concurrent.futures.ThreadPoolExecutor | None = None
_timed_pool_lock = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _timed_pool
    if _timed_pool is None:
        with _timed_pool_lock:
            if _timed_pool is None:
                _timed_pool = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="snakepit-timed")
    return _timed_pool


def effective_timeout(command: Command, default: float | None) -> float | None:
    if command.timeout is None:
        return default
    return command.timeout if default is None else min(command.timeout, default)


def call_unary(
    command: Command,
    ctx: SessionContext,
    params: dict[str, Any],
    loop: BackgroundLoop,
    timeout: float | None,
) -> Any:
    """Run a command to a single result."""
    if timeout is None:
        result = command.invoke(ctx, params)
    else:
        # In a copy of this thread's context: the handler's log lines and spans stay the call's, and its
        # deadline bounds what it asks Elixir.
        future = _pool().submit(contextvars.copy_context().run, _invoke_unless_cancelled, command, ctx, params)
        remaining = ctx.time_remaining()
        wait = timeout if remaining is None else min(timeout, remaining)
        try:
            result = future.result(wait)
        except concurrent.futures.TimeoutError:
            # Not started yet (all helper threads busy)? Then it never will be.
            future.cancel()
            ctx.cancel()
            if wait < timeout:
                raise DeadlineExceeded(f"{command.name} was abandoned: its caller's deadline passed") from None
            raise DeadlineExceeded(f"{command.name} timed out after {timeout:g} s") from None
    if type(result) in PLAIN_TYPES:
        return result
    if inspect.isawaitable(result):
        return _await(result, command, ctx, loop, timeout)
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        _close_quietly(result, loop)
        raise InvalidArgument(
            f"{command.name} is a streaming command; call it with ExecuteStreamingTool "
            "(snakepit-host call --stream, Snakepit.execute_stream)"
        )
    return result


def _invoke_unless_cancelled(command: Command, ctx: SessionContext, params: dict[str, Any]) -> Any:
    if ctx.cancelled:
        raise DeadlineExceeded(f"{command.name} was cancelled before it started")
    return command.invoke(ctx, params)


def _await(awaitable: Any, command: Command, ctx: SessionContext, loop: BackgroundLoop, timeout: float | None) -> Any:
    future = loop.submit(awaitable)
    remaining = timeout
    while True:
        try:
            return future.result(0.25 if remaining is None else min(0.25, remaining))
        except concurrent.futures.TimeoutError:
            if remaining is not None:
                remaining -= 0.25
                if remaining <= 0:
                    future.cancel()
                    ctx.cancel()
                    raise DeadlineExceeded(f"{command.name} timed out after {timeout:g} s") from None
            if ctx.cancelled:
                future.cancel()
                raise DeadlineExceeded(f"{command.name} was cancelled by the caller") from None


def stream_items(
    command: Command,
    ctx: SessionContext,
    params: dict[str, Any],
    loop: BackgroundLoop,
    timeout: float | None,
) -> Iterator[Any]:
    """Yield the items a command produces; closes its generator however iteration ends.

    ``timeout`` bounds the wait for each item of an async generator and the
    whole run of an ``async def`` that returns an iterable.
    """
    result = command.invoke(ctx, params)
    if inspect.isawaitable(result):
        result = _await(result, command, ctx, loop, timeout)
    if hasattr(result, "__anext__"):
        yield from loop.iterate(result, timeout)
    elif inspect.isgenerator(result) or (hasattr(result, "__next__") and hasattr(result, "__iter__")):
        try:
            yield from result
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    elif isinstance(result, (list, tuple)):
        yield from result
    else:
        yield result


def _close_quietly(generator: Any, loop: BackgroundLoop) -> None:
    try:
        if inspect.isasyncgen(generator):
            loop.run(generator.aclose(), timeout=1.0)
        else:
            generator.close()
    except Exception:  # the caller's error is the useful one
        pass
