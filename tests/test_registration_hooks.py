"""Plugin-defined registration hooks get the host's owner attribution, isolation and listing."""

from __future__ import annotations

from typing import Any

import pytest

from snakepit_host import hookimpl, hookspec, registration_hookspec
from snakepit_host._plugin_manager import PluginLoadError
from snakepit_host.testing import make_plugin_manager


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


def test_entries_are_owner_tracked_and_listed() -> None:
    manager = make_plugin_manager(Csv, Declarer, strict=False)  # the implementer may load before the declarer
    registry = manager.build_registry()
    entries = registry.entries("exporters")
    assert {name: (e.owner, e.value) for name, e in entries.items()} == {
        "csv": ("Csv", "csv-exporter"),
        "json": ("Declarer", "json-exporter"),
    }
    listing = {item["name"]: item for item in manager.listing()}
    assert listing["Csv"]["provides"] == {"commands": ["csv_status"], "exporters": ["csv"]}
    assert listing["Declarer"]["provides"] == {"exporters": ["json"]}
    assert registry.entries("nobody_registers_this") == {}


def test_a_failing_implementation_withdraws_its_plugin() -> None:
    manager = make_plugin_manager(Declarer, Broken, Csv, strict=False)
    registry = manager.build_registry()
    record = manager.records["Broken"]
    assert (record.status, record.error) == ("error", "register_exporters failed: RuntimeError: no disk")
    assert "half" not in registry.entries("exporters") and "broken_status" not in registry.commands
    assert {item["name"]: item["provides"] for item in manager.listing()}["Broken"] == {}
    assert set(registry.entries("exporters")) == {"csv", "json"}


def test_a_name_collision_names_both_plugins() -> None:
    manager = make_plugin_manager(Declarer, Csv, Copycat, strict=False)
    registry = manager.build_registry()
    assert registry.entries("exporters")["csv"].owner == "Csv"
    assert manager.records["Copycat"].error == (
        "register_exporters failed: RegistrationError: exporters 'csv' from plugin 'Copycat' collides with "
        "exporters 'csv' registered by plugin 'Csv'"
    )


def test_strict_mode_makes_a_failing_implementation_fatal() -> None:
    manager = make_plugin_manager(Declarer, Broken, strict=True)
    with pytest.raises(PluginLoadError, match="register_exporters failed: RuntimeError: no disk"):
        manager.build_registry()


def test_async_implementations_are_refused() -> None:
    manager = make_plugin_manager(Declarer, Hasty, strict=False)
    registry = manager.build_registry()
    assert manager.records["Hasty"].status == "error"
    assert "register_exporters is 'async def'" in (manager.records["Hasty"].error or "")
    assert "late" not in registry.entries("exporters")


def test_without_the_declaring_plugin_nothing_is_called() -> None:
    manager = make_plugin_manager(Csv, strict=False)
    registry = manager.build_registry()
    assert manager.records["Csv"].status == "loaded" and registry.entries("exporters") == {}


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

    manager = make_plugin_manager(ClaimsCommands, Declarer, SecondDeclarer, strict=False)
    assert manager.records["ClaimsCommands"].error == (
        "RegistrationError: registration hook register_more_commands declares kind 'commands', taken by the host"
    )
    assert manager.records["SecondDeclarer"].error == (
        "RegistrationError: registration hook register_other_exporters declares kind 'exporters', "
        "taken by plugin 'Declarer'"
    )


def test_a_registration_hook_takes_only_register() -> None:
    with pytest.raises(TypeError, match="must take exactly one argument, 'register'"):

        @registration_hookspec("things")
        def register_things(register: Any, extra: Any) -> None:
            pass

    with pytest.raises(ValueError, match="lower-case identifier"):
        registration_hookspec("Not A Kind")
