"""Errors for things nobody serves say what is really the case, and the hint data matches the plugins."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest

from snakepit_host import hookimpl
from snakepit_host._bridge_methods import plugin_methods
from snakepit_host._entry_points import normalize
from snakepit_host._plugin_manager import PluginManager
from snakepit_host._provider_hints import ELIXIR_SIDE_RPCS, FIRST_PARTY, why_missing
from snakepit_host.host_client import RemoteError
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import running_host


def installed_plugins() -> PluginManager:
    manager = PluginManager()
    manager.load_builtins()
    manager.load_entry_points()
    manager.build_registry()
    return manager


def test_every_hint_names_what_its_distribution_really_provides() -> None:
    manager = installed_plugins()
    by_distribution = {normalize(r.distribution or ""): r for r in manager.records.values()}
    for distribution, kinds in FIRST_PARTY.items():
        record = by_distribution.get(distribution)
        if record is None:
            pytest.skip(f"{distribution} is not installed")
        assert record.status == "loaded", record.error
        provided = {kind: set(names) for kind, names in record.provides.items()}
        provided["commands"] = provided.get("commands", set()) | provided.get("tools", set())
        for kind, names in kinds.items():
            wrong = sorted(names - provided.get(kind, set()))
            assert not wrong, f"_provider_hints says {distribution} provides {kind} it does not: {', '.join(wrong)}"


def test_elixir_side_methods_are_bridge_methods_no_plugin_serves() -> None:
    manager = installed_plugins()
    served = {method for record in manager.records.values() for method in record.provides.get("rpcs", [])}
    assert set(plugin_methods()) >= ELIXIR_SIDE_RPCS and not served & ELIXIR_SIDE_RPCS


def test_a_disabled_provider_is_named_as_disabled() -> None:
    manager = PluginManager(deny=["variables"])
    manager.load_builtins()
    manager.load_entry_points()
    records = manager.records.values()
    assert why_missing("rpcs", "GetVariable", records, finds_installed=True) == (
        "it comes with snakepit-variables (plugin 'variables'), which is disabled on this worker "
        "(--plugins, --disable-plugin)"
    )


def test_a_failed_provider_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_VARIABLES_HISTORY", "lots")
    with running_host(entry_points=True, strict=False) as running, pytest.raises(RemoteError) as raised:
        running.client().call("get_variable", {"name": "x"})
    assert raised.value.message.startswith("unknown command 'get_variable'")
    assert (
        "it comes with snakepit-variables (plugin 'variables'), which failed to load: option --variables-history: "
        "$SNAKEPIT_VARIABLES_HISTORY is 'lots', not an integer"
    ) in raised.value.message


def test_elixir_side_rpcs_say_so_even_with_snakepit_tools_loaded() -> None:
    with running_host(entry_points=True) as running:
        assert running.host.plugins.records["tools"].status == "loaded"
        with pytest.raises(grpc.RpcError) as raised:
            running.client().stub.RegisterTools(pb.RegisterToolsRequest(session_id="s"))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert raised.value.details() == (
        "RegisterTools is not served by this host: RegisterTools is a method of Elixir's BridgeServer, which "
        "workers call (snakepit-tools does); Elixir does not call it on a worker"
    )


def test_a_plugin_installed_after_start_needs_a_restart(tmp_path: Path) -> None:
    manager = PluginManager()
    manager.load_builtins()
    manager.load_entry_points([str(tmp_path)])  # the worker started before snakepit-dspy was installed
    assert why_missing("commands", "enhanced_predict", manager.records.values(), finds_installed=True) == (
        "snakepit-dspy was installed after this worker started; restart the worker to load it "
        "(workers find plugins when they start)"
    )


def test_an_uninstalled_provider_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # nothing is installed on this path
    monkeypatch.setenv("SNAKEPIT_CACHE_DIR", "")
    manager = PluginManager()
    manager.load_builtins()
    manager.load_entry_points()
    assert why_missing("session_attributes", "tools", manager.records.values(), finds_installed=True) == (
        "install snakepit-tools to get it (workers find plugins when they start)"
    )
    assert why_missing("rpcs", "NoSuchThing", manager.records.values(), finds_installed=True) == (
        "no loaded plugin provides it (see 'snakepit-host plugins')"
    )


def test_an_unknown_first_party_command_names_its_distribution() -> None:
    class Other:
        @hookimpl
        def register_commands(self, register: object) -> None:
            pass

    with running_host(Other) as running:
        client = running.client()
        with pytest.raises(RemoteError) as raised:
            client.call("enhanced_predict", {})
        with pytest.raises(RemoteError) as plain:
            client.call("no_such_command", {})
    assert raised.value.message.startswith("unknown command 'enhanced_predict'")
    assert raised.value.message.endswith(
        "; it comes with snakepit-dspy, which is installed but not loaded by this host"
    )
    assert "comes with" not in plain.value.message and "install" not in plain.value.message
