"""The pytest kit plugin authors use (``snakepit_host.testing``, loaded through pytest11)."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from snakepit_host import hookimpl
from snakepit_host._plugin_manager import PluginLoadError, PluginManager
from snakepit_host.host_client import SnakepitClient
from snakepit_host.testing import RunningHost, make_plugin_manager


class Greeter:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("greet", lambda ctx, params: f"hello {params['name']}")


def module_plugin() -> types.ModuleType:
    module = types.ModuleType("shouty")

    @hookimpl
    def register_tools(register: Any) -> None:
        register.tool(lambda text: text.upper(), name="shout")

    module.register_tools = register_tools  # type: ignore[attr-defined]
    return module


def test_plugin_manager_fixture_has_only_builtins(snakepit_plugin_manager: PluginManager) -> None:
    assert [r.name for r in snakepit_plugin_manager.loaded()] == ["core"]


def test_factory_serves_class_and_module_plugins(snakepit_host_factory: Callable[..., RunningHost]) -> None:
    running = snakepit_host_factory(Greeter, module_plugin())
    client = running.client()
    assert client.call("greet", {"name": "kit"}) == "hello kit"
    assert client.call("shout", {"text": "quiet"}) == "QUIET"
    assert running.address.startswith("127.0.0.1:")


def test_server_client_and_channel_fixtures(
    snakepit_server: RunningHost, snakepit_client: SnakepitClient, snakepit_channel: grpc.Channel
) -> None:
    assert snakepit_client.call("ping")["status"] == "ok"
    assert snakepit_channel is snakepit_client.channel
    assert snakepit_server.host.describe()["host"]["address"] == snakepit_server.address


def test_kit_is_strict_so_broken_test_plugins_fail_loudly() -> None:
    class Broken:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            raise RuntimeError("oops")

    with pytest.raises(PluginLoadError, match="oops"):
        make_plugin_manager(Broken).build_registry()


def test_the_elixir_standin_fixture_survives_a_conftest_importing_its_module(tmp_path: Path) -> None:
    """A conftest in a folder named on the command line is imported before pytest reads the kit's fixtures."""
    (tmp_path / "conftest.py").write_text("from snakepit_host.testing.elixir_standin import ElixirStandIn\n")
    (tmp_path / "test_it.py").write_text("def test_it(elixir_standin):\n    assert elixir_standin.address\n")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout
