"""The host as plugins see it: what hooks, handlers and ``ctx.host`` may use.

:class:`Host` is a Protocol, exported as ``snakepit_host.Host``. Hook
signatures, :class:`~snakepit_host._context.SessionContext` and RPC handlers
refer to it instead of the running implementation
(:class:`snakepit_host._host.Host`), which sits at the top of the host's
modules and needs all of them; referring to the implementation would make
the modules import each other in a circle. It is also the list of what is
public on a host: anything the implementation has beyond it (its plugin
manager, stopping its event loop) is the host's own business.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from snakepit_host._elixir_client import ElixirClient
    from snakepit_host._host_config import HostConfig
    from snakepit_host._registry import Registry
    from snakepit_host._sessions import SessionStore
    from snakepit_host.codec import TypedBuffer

T = TypeVar("T")


class EventLoop(Protocol):
    """The host's one event loop (``async def`` handlers run on it), as code in a handler's thread uses it."""

    def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``awaitable`` on the loop and return its result; after ``timeout`` s, cancel it (DeadlineExceeded)."""
        ...

    def iterate(self, iterator: AsyncIterator[T], timeout: float | None = None) -> Iterator[T]:
        """The items of an async iterator, each awaited on the loop (``timeout`` per item); closed however it ends."""
        ...


class Host(Protocol):
    """One worker: its settings, registry, sessions, per-plugin state and call path."""

    @property
    def version(self) -> str:
        """The host's version."""
        ...

    @property
    def config(self) -> HostConfig:
        """The host's settings (read them; changing them has no effect once serving)."""
        ...

    @property
    def registry(self) -> Registry:
        """Everything the plugins registered (frozen while serving)."""
        ...

    @property
    def sessions(self) -> SessionStore:
        """The live sessions."""
        ...

    @property
    def address(self) -> str | None:
        """``host:port`` being served, once bound."""
        ...

    @property
    def elixir(self) -> ElixirClient | None:
        """Client of the Elixir BridgeServer, or None when running standalone."""
        ...

    @property
    def loop(self) -> EventLoop:
        """The event loop, for a synchronous handler that calls code which may return awaitables."""
        ...

    @property
    def stopping(self) -> bool:
        """True once shutdown has begun; background loops should end."""
        ...

    def option(self, name: str) -> Any:
        """The typed value of a plugin option declared in ``register_options``."""
        ...

    def state(self, key: str, factory: Callable[[], T]) -> T:
        """This host's object under ``key`` (your plugin's name), created by ``factory()`` on first use."""
        ...

    def get_state(self, key: str, default: Any = None) -> Any:
        """The object under ``key`` if it was created, else ``default``."""
        ...

    def pop_state(self, key: str, default: Any = None) -> Any:
        """Remove and return the object under ``key`` (e.g. when the plugin shuts it down)."""
        ...

    def execute(
        self,
        name: str,
        params: dict[str, Any],
        *,
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
        binary: Mapping[str, bytes | TypedBuffer] | None = None,
        deadline: float | None = None,
        is_active: Callable[[], bool] | None = None,
    ) -> Any:
        """Run a command or tool through the whole call path and return what its handler returned."""
        ...

    def stream(
        self,
        name: str,
        params: dict[str, Any],
        *,
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
        binary: Mapping[str, bytes | TypedBuffer] | None = None,
        deadline: float | None = None,
        is_active: Callable[[], bool] | None = None,
    ) -> Generator[Any, None, None]:
        """Run a streaming command and yield its items."""
        ...

    def describe(self) -> dict[str, Any]:
        """Host, plugins, commands, tools, types, RPCs and status, as ``describe`` answers."""
        ...

    def stats(self) -> dict[str, Any]:
        """Process, sessions, calls, errors and latency percentiles per command, streams, as ``stats`` answers."""
        ...

    def explain_missing(self, kind: str, name: str) -> str:
        """Why nothing registered ``name`` as ``kind`` (``"commands"``, ``"rpcs"``...), worded for an error."""
        ...

    def request_shutdown(self, reason: str) -> None:
        """Ask the host to stop serving (it drains calls first)."""
        ...

    def report_problem(self, plugin: str, problem: str | None) -> None:
        """Plugin ``plugin`` is loaded but cannot do its job now (say, its database is unreachable).

        Until it is cleared with ``None``, the listing (``plugins`` in ``describe``) shows the plugin
        with status ``error`` and ``problem`` as the reason; the plugin keeps its registrations and
        keeps answering (each call with its own error), so it can recover without a restart.
        """
        ...


class StatusReporter(Protocol):
    """A per-host state object whose ``status()`` ``describe`` shows (under its ``host.state`` key)."""

    def status(self) -> Mapping[str, Any]:
        """A small JSON-able summary: counters, the chosen backend, the last error."""
        ...
