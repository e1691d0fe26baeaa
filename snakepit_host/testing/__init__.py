"""pytest kit for plugin authors (loaded automatically through ``pytest11``).

Fixtures:

``snakepit_plugin_manager``
    A fresh :class:`~snakepit_host._plugin_manager.PluginManager` with only the
    built-ins; add yours with ``.add(MyPlugin, "mine")``.
``snakepit_host_factory``
    ``factory(*plugins, entry_points=False, adapter=None, **config)`` starts an in-process
    host on 127.0.0.1, port 0, and returns a :class:`RunningHost` (stopped
    at teardown). ``plugins`` are classes, instances or modules with
    ``@hookimpl`` functions; ``entry_points=True`` also loads every
    installed plugin, as ``snakepit-host serve`` would.
``snakepit_server``
    A running host with the built-ins and every installed plugin.
``snakepit_client`` / ``snakepit_channel``
    A :class:`~snakepit_host.host_client.SnakepitClient` and a gRPC channel
    connected to ``snakepit_server``.
``elixir_standin``
    A started :class:`~snakepit_host.testing.elixir_standin.ElixirStandIn`: Snakepit's
    Elixir side, in Python. Pass ``elixir_address=elixir_standin.address``.

Outside pytest, :func:`running_host` is the same thing as a context manager,
and :func:`wait_until` polls for something a background thread will do.
Nothing here is imported until a fixture is used.

For the whole test session, the host's plugin-discovery cache lives in a
temporary folder (``SNAKEPIT_CACHE_DIR``, unless it is already set), so hosts
started by tests, in process or as subprocesses (which inherit it), neither
write into the user's ``~/.cache`` nor read what an earlier run left there.
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import grpc

    from snakepit_host._host import Host
    from snakepit_host._plugin_manager import PluginManager
    from snakepit_host._server import BridgeServer
    from snakepit_host.host_client import SnakepitClient
    from snakepit_host.testing.elixir_standin import ElixirStandIn


def make_plugin_manager(
    *plugins: object, entry_points: bool = False, strict: bool = True, adapter: str | None = None
) -> PluginManager:
    """Built-ins, then entry points if asked, then ``plugins``, then ``adapter`` (as ``--adapter`` would).

    Each of ``plugins`` is named after its class or module (``snakepit_tools.plugin`` -> ``plugin``);
    one whose short name is taken gets its full dotted name, so two ``plugin`` modules can be combined.

    Strict by default: in a test, a plugin that fails to load should fail loudly.
    """
    from snakepit_host._plugin_manager import PluginManager

    manager = PluginManager(strict=strict)
    manager.load_builtins()
    if entry_points:
        manager.load_entry_points()
    for plugin in plugins:
        name = _plugin_name(plugin)
        if name in manager.records:  # two modules both called ``plugin``: keep both, fully named
            name = _plugin_name(plugin, qualified=True)
        manager.add(plugin, name)
    if adapter is not None:
        manager.load_adapter(adapter)
    return manager


def _plugin_name(plugin: object, *, qualified: bool = False) -> str:
    name = str(getattr(plugin, "__name__", None) or type(plugin).__name__)
    if qualified and not inspect.ismodule(plugin):
        cls = plugin if inspect.isclass(plugin) else type(plugin)
        name = f"{cls.__module__}.{cls.__qualname__}"
    return name if qualified else name.rsplit(".", 1)[-1]


@dataclass
class RunningHost:
    """An in-process host serving on ``address``."""

    host: Host
    server: BridgeServer
    address: str
    _clients: list[SnakepitClient] = field(default_factory=list)
    _stopped: bool = False

    def client(self, **kwargs: Any) -> SnakepitClient:
        from snakepit_host.host_client import SnakepitClient

        client = SnakepitClient(self.address, **kwargs)
        self._clients.append(client)
        return client

    def stop(self, grace: float = 1.0) -> None:
        """Shut down as SIGTERM would (idempotent)."""
        from snakepit_host._worker import shutdown

        if self._stopped:
            return
        self._stopped = True
        for client in self._clients:
            client.close()
        self.host.config.shutdown_grace = grace
        shutdown(self.host, self.server)


@contextmanager
def running_host(
    *plugins: object, entry_points: bool = False, strict: bool = True, adapter: str | None = None, **config: Any
) -> Iterator[RunningHost]:
    """Serve a host in this process on 127.0.0.1 (port 0 unless given); ``adapter`` as for ``--adapter``."""
    from snakepit_host._host import Host
    from snakepit_host._host_config import HostConfig
    from snakepit_host._server import BridgeServer

    manager = make_plugin_manager(*plugins, entry_points=entry_points, strict=strict, adapter=adapter)
    host_config = HostConfig(port=config.pop("port", 0), **config)
    host = Host(host_config, manager, manager.build_registry(host_config.options))
    server = BridgeServer(host)
    port = server.start()
    host.started()
    handle = RunningHost(host=host, server=server, address=f"127.0.0.1:{port}")
    try:
        yield handle
    finally:
        handle.stop()


CACHE_DIR_VARIABLE = "SNAKEPIT_CACHE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if CACHE_DIR_VARIABLE in os.environ:
        return  # set by the user, or by the pytest session that started this one
    folder = tempfile.mkdtemp(prefix="snakepit-test-cache-")
    os.environ[CACHE_DIR_VARIABLE] = folder

    def restore() -> None:
        os.environ.pop(CACHE_DIR_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)

    config.add_cleanup(restore)


def wait_until(predicate: Callable[[], Any], what: str = "the condition", timeout: float = 10.0) -> Any:
    """Poll until ``predicate()`` is truthy and return it; the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# Named apart from the submodule elixir_standin: importing that submodule (a conftest's
# `from snakepit_host.testing.elixir_standin import ElixirStandIn`) rebinds this package's
# attribute of the same name, and pytest, reading the fixtures later, found a module there.
@pytest.fixture(name="elixir_standin")
def elixir_standin_fixture() -> Iterator[ElixirStandIn]:
    from snakepit_host.testing.elixir_standin import ElixirStandIn

    standin = ElixirStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def snakepit_plugin_manager() -> PluginManager:
    return make_plugin_manager()


@pytest.fixture
def snakepit_host_factory() -> Iterator[Callable[..., RunningHost]]:
    stack: list[Any] = []

    def factory(*plugins: object, **kwargs: Any) -> RunningHost:
        context = running_host(*plugins, **kwargs)
        handle = context.__enter__()
        stack.append(context)
        return handle

    yield factory
    while stack:
        stack.pop().__exit__(None, None, None)


@pytest.fixture
def snakepit_server(snakepit_host_factory: Callable[..., RunningHost]) -> RunningHost:
    return snakepit_host_factory(entry_points=True)


@pytest.fixture
def snakepit_client(snakepit_server: RunningHost) -> SnakepitClient:
    return snakepit_server.client()


@pytest.fixture
def snakepit_channel(snakepit_client: SnakepitClient) -> grpc.Channel:
    return snakepit_client.channel
