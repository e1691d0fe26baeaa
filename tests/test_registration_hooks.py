"""Plugin-defined registration hooks get the host's owner attribution, isolation and listing."""

from __future__ import annotations

from typing import Any

import pytest

from snakepit_host import hookimpl, hookspec, registration_hookspec
from snakepit_host._plugin_manager import PluginLoadError, PluginManager


class ExporterHooks:
    @registration_hookspec("exporters")
    def register_exporters(self, register: Any) -> None:
        """Offer exporters: ``register(name, exporter)``."""

    @hookspec
    def exported(self, name: str) -> None:
        """An ordinary hook of the same plugin: the host does not call it."""


class Declarer:
    """Declares the hook and registers an exporter of its own."""

    @hookimpl
    def add_hookspecs(self, plugin_manager: Any) -> None:
        plugin_manager.add_hookspecs(ExporterHooks)

    @hookimpl(optionalhook=True)
    def register_exporters(self, register: Any) -> None:
        register("json", "json-exporter")


class Csv:
    @hookimpl(optionalhook=True)
    def register_exporters(self, register: Any) -> None:
        register("csv", "csv-exporter")

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("csv_status", lambda ctx, params: "ok")


class Broken:
    @hookimpl(optionalhook=True)
    def register_exporters(self, register: Any) -> None:
        register("half", "half-exporter")
        raise RuntimeError("no disk")

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("broken_status", lambda ctx, params: "ok")


class Copycat:
    @hookimpl(optionalhook=True)
    def register_exporters(self, register: Any) -> None:
        register("csv", "another-csv-exporter")


class Hasty:
    @hookimpl(optionalhook=True)
    async def register_exporters(self, register: Any) -> None:
        register("late", "never")


def manager_with(*plugins: tuple[str, object], strict: bool = False) -> PluginManager:
    manager = PluginManager(strict=strict)
    manager.load_builtins()
    for name, plugin in plugins:
        manager.add(plugin, name)
    return manager


def test_entries_are_owner_tracked_and_listed() -> None:
    manager = manager_with(("csv", Csv), ("declarer", Declarer))  # the implementer may load before the declarer
    registry = manager.build_registry()
    entries = registry.entries("exporters")
    assert {name: (e.owner, e.value) for name, e in entries.items()} == {
        "csv": ("csv", "csv-exporter"),
        "json": ("declarer", "json-exporter"),
    }
    listing = {item["name"]: item for item in manager.listing()}
    assert listing["csv"]["provides"] == {"commands": ["csv_status"], "exporters": ["csv"]}
    assert listing["declarer"]["provides"] == {"exporters": ["json"]}
    assert registry.entries("nobody_registers_this") == {}


def test_a_failing_implementation_withdraws_its_plugin() -> None:
    manager = manager_with(("declarer", Declarer), ("broken", Broken), ("csv", Csv))
    registry = manager.build_registry()
    record = manager.records["broken"]
    assert (record.status, record.error) == ("error", "register_exporters failed: RuntimeError: no disk")
    assert "half" not in registry.entries("exporters") and "broken_status" not in registry.commands
    assert {item["name"]: item["provides"] for item in manager.listing()}["broken"] == {}
    assert set(registry.entries("exporters")) == {"csv", "json"}


def test_a_name_collision_names_both_plugins() -> None:
    manager = manager_with(("declarer", Declarer), ("csv", Csv), ("copycat", Copycat))
    registry = manager.build_registry()
    assert registry.entries("exporters")["csv"].owner == "csv"
    assert manager.records["copycat"].error == (
        "register_exporters failed: RegistrationError: exporters 'csv' from plugin 'copycat' collides with "
        "exporters 'csv' registered by plugin 'csv'"
    )


def test_strict_mode_makes_a_failing_implementation_fatal() -> None:
    manager = manager_with(("declarer", Declarer), ("broken", Broken), strict=True)
    with pytest.raises(PluginLoadError, match="register_exporters failed: RuntimeError: no disk"):
        manager.build_registry()


def test_async_implementations_are_refused() -> None:
    manager = manager_with(("declarer", Declarer), ("hasty", Hasty))
    registry = manager.build_registry()
    assert manager.records["hasty"].status == "error"
    assert "register_exporters is 'async def'" in (manager.records["hasty"].error or "")
    assert "late" not in registry.entries("exporters")


def test_without_the_declaring_plugin_nothing_is_called() -> None:
    manager = manager_with(("csv", Csv))
    registry = manager.build_registry()
    assert manager.records["csv"].status == "loaded" and registry.entries("exporters") == {}


def test_a_kind_must_not_be_taken() -> None:
    class ClaimsCommands:
        @hookimpl
        def add_hookspecs(self, plugin_manager: Any) -> None:
            class Hooks:
                @registration_hookspec("commands")
                def register_more_commands(self, register: Any) -> None:
                    pass

            plugin_manager.add_hookspecs(Hooks)

    class SecondDeclarer:
        @hookimpl
        def add_hookspecs(self, plugin_manager: Any) -> None:
            class Hooks:
                @registration_hookspec("exporters")
                def register_other_exporters(self, register: Any) -> None:
                    pass

            plugin_manager.add_hookspecs(Hooks)

    manager = manager_with(("claims", ClaimsCommands), ("declarer", Declarer), ("second", SecondDeclarer))
    assert manager.records["claims"].error == (
        "RegistrationError: registration hook register_more_commands declares kind 'commands', taken by the host"
    )
    assert manager.records["second"].error == (
        "RegistrationError: registration hook register_other_exporters declares kind 'exporters', "
        "taken by plugin 'declarer'"
    )


def test_a_registration_hook_takes_only_register() -> None:
    with pytest.raises(TypeError, match="must take exactly one argument, 'register'"):

        @registration_hookspec("things")
        def register_things(register: Any, extra: Any) -> None:
            pass

    with pytest.raises(ValueError, match="lower-case identifier"):
        registration_hookspec("Not A Kind")
