"""Other plugins add variable stores through ``register_variable_stores``, with the host's isolation and listing."""

from __future__ import annotations

from typing import Any

import snakepit_variables.plugin as variables_plugin
from snakepit_variables import MemoryStore

from snakepit_host import Host, hookimpl
from snakepit_host.testing import running_host


class CountingStore(MemoryStore):
    """A memory store that counts the hosts it was made for (so the test sees the factory ran)."""

    made: list[str] = []

    def __init__(self, host: Host) -> None:
        super().__init__()
        CountingStore.made.append(host.config.run_id)


class ScratchStores:
    """A third-party plugin offering a store, in the documented form ``register(name, factory)``."""

    @hookimpl(optionalhook=True)
    def register_variable_stores(self, register: Any) -> None:
        register("scratch", CountingStore)


class BrokenStores:
    @hookimpl(optionalhook=True)
    def register_variable_stores(self, register: Any) -> None:
        register("half", CountingStore)
        raise RuntimeError("cannot reach the database")

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("broken_stores_status", lambda ctx, params: "ok")


class MemoryImpostor:
    @hookimpl(optionalhook=True)
    def register_variable_stores(self, register: Any) -> None:
        register("memory", CountingStore)


def test_a_plugin_store_is_listed_and_chosen() -> None:
    options = {"variables_store": "scratch"}
    with running_host(variables_plugin, ScratchStores, run_id="scratch-run", options=options) as running:
        client = running.client()
        client.call("register_variable", {"name": "t", "type": "float", "value": 0.5}, session_id="s")
        assert client.call("get_variable", {"name": "t"}, session_id="s")["value"] == 0.5
        described = client.call("describe")
    assert described["status"]["variables"]["store"] == "scratch" and "scratch-run" in CountingStore.made
    provides = {plugin["name"]: plugin["provides"] for plugin in described["plugins"]}
    assert provides["ScratchStores"] == {"variable_stores": ["scratch"]}
    assert provides["plugin"]["variable_stores"] == ["elixir", "memory", "redis", "sqlite"]


def test_a_failing_store_plugin_is_withdrawn_with_the_reason() -> None:
    with running_host(variables_plugin, BrokenStores, strict=False) as running:
        record = running.host.plugins.records["BrokenStores"]
        assert (record.status, record.error) == (
            "error",
            "register_variable_stores failed: RuntimeError: cannot reach the database",
        )
        assert set(running.host.registry.entries("variable_stores")) == {"elixir", "memory", "redis", "sqlite"}
        assert "broken_stores_status" not in running.host.registry.commands


def test_a_store_name_taken_by_another_plugin_names_both() -> None:
    with running_host(variables_plugin, MemoryImpostor, strict=False) as running:
        assert running.host.plugins.records["MemoryImpostor"].error == (
            "register_variable_stores failed: RegistrationError: variable_stores 'memory' from plugin "
            "'MemoryImpostor' collides with variable_stores 'memory' registered by plugin 'plugin'"
        )
        assert running.host.registry.entries("variable_stores")["memory"].owner == "plugin"
