"""``--adapter`` on the plugin manager: ``stands_in_for``, ``serve_adapter``, records, isolation, strict mode.

The plugins here are toys; snakepit-adapters (``plugins/snakepit_adapters``)
is the real ``serve_adapter`` plugin and snakepit-dspy a real ``stands_in_for`` one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snakepit_host import hookimpl
from snakepit_host._plugin_manager import PluginLoadError, PluginManager
from snakepit_host.testing import make_plugin_manager, running_host

SPEC = "their_app.workers.TheirAdapter"


class StandsIn:
    """Serves SPEC with its own commands; the adapter is never imported."""

    @hookimpl
    def stands_in_for(self) -> list[str] | None:
        return [SPEC]

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("their_tool", lambda ctx, params: "stood in")


class ServedAdapter:
    """What a serve_adapter plugin returns: a plugin object for the adapter."""

    note = "a toy adapter"

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("echo", lambda ctx, params: {"adapter": params}, keep_routing=True)


class Server:
    """Serves every spec under ``their_app.``, passes on the others."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def serve_adapter(self, spec: str) -> object | None:
        self.asked.append(spec)
        return ServedAdapter() if spec.startswith("their_app.") else None


class RefusingServer:
    @hookimpl
    def serve_adapter(self, spec: str) -> object | None:
        raise ValueError(f"{spec} needs a GPU")


def records(manager: PluginManager) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in manager.listing()}


def test_a_plugin_standing_in_serves_the_adapter_and_the_listing_says_so() -> None:
    server = Server()
    manager = make_plugin_manager(StandsIn, server, adapter=SPEC)
    manager.build_registry()
    adapter = records(manager)["TheirAdapter"]
    assert (adapter["status"], adapter["kind"], adapter["served_by"]) == ("loaded", "adapter", "StandsIn")
    assert adapter["note"] == "served by plugin 'StandsIn', which stands in for it"
    assert server.asked == [], "a stand-in answers first: nothing else is asked, nothing imported"


def test_a_served_adapter_is_a_record_of_its_own_whose_commands_win_clashes() -> None:
    with running_host(Server(), adapter=SPEC) as running:
        listing = records(running.host.plugins)
        adapter = listing["TheirAdapter"]
        assert (adapter["status"], adapter["kind"], adapter["served_by"]) == ("loaded", "adapter", "Server")
        assert adapter["note"] == "served by plugin 'Server': a toy adapter"
        assert adapter["provides"] == {"commands": ["echo"], "shadows": ["echo (of core)"]}
        assert listing["core"]["provides"]["shadowed"] == ["echo (by TheirAdapter)"]
        client = running.client()
        assert client.call("echo", {"x": 1, "session_id": "s"}) == {"adapter": {"x": 1, "session_id": "s"}}


def test_a_spec_no_plugin_serves_must_be_a_host_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "own_plugin.py").write_text(
        "from snakepit_host import hookimpl\n"
        "@hookimpl\n"
        "def register_commands(register):\n"
        "    register.command('own', lambda ctx, params: 'own')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    server = Server()
    manager = make_plugin_manager(server, adapter="own_plugin")
    manager.build_registry()
    own = records(manager)["own_plugin"]
    assert (own["status"], own["kind"], own["served_by"], own["provides"]) == (
        "loaded",
        "plugin",
        None,
        {"commands": ["own"]},
    )
    assert server.asked == ["own_plugin"]
    refused = records(make_plugin_manager(server, adapter="json", strict=False))["json"]  # no @hookimpl functions
    assert refused["error"] == (
        "RegistrationError: json is not a host plugin (no @hookimpl functions) and plugin(s) Server did not take it"
    )


def test_a_serve_adapter_that_raises_is_the_adapters_error_and_strict_mode_makes_it_fatal() -> None:
    manager = make_plugin_manager(RefusingServer, adapter=SPEC, strict=False)
    listing = records(manager)
    assert listing["TheirAdapter"]["status"] == "error"
    assert listing["TheirAdapter"]["error"] == f"ValueError: {SPEC} needs a GPU"
    assert listing["RefusingServer"]["status"] == "loaded", "the server plugin itself is fine"
    with pytest.raises(PluginLoadError, match="plugin TheirAdapter failed: ValueError: .* needs a GPU"):
        make_plugin_manager(RefusingServer, adapter=SPEC, strict=True)


class BadStandIn:
    @hookimpl
    def stands_in_for(self) -> Any:
        return SPEC  # a string, not a list: "in" would match substrings


class StandInThatFailsLater(StandsIn):
    @hookimpl
    def register_commands(self, register: Any) -> None:
        raise RuntimeError("no model configured")


def test_a_stand_in_answering_garbage_fails_alone() -> None:
    manager = make_plugin_manager(BadStandIn, Server(), adapter=SPEC, strict=False)
    listing = records(manager)
    assert listing["BadStandIn"]["error"] == (
        f"stands_in_for failed: TypeError: returned '{SPEC}', not a list of adapter specs"
    )
    assert listing["TheirAdapter"]["served_by"] == "Server", "the next way of serving it is tried"


def test_an_adapter_fails_with_the_plugin_that_serves_it() -> None:
    manager = make_plugin_manager(StandInThatFailsLater, adapter=SPEC, strict=False)
    manager.build_registry()
    listing = records(manager)
    assert listing["StandInThatFailsLater"]["status"] == "error"
    assert listing["TheirAdapter"]["error"] == (
        "plugin 'StandInThatFailsLater', which serves it, failed: register_commands failed: "
        "RuntimeError: no model configured"
    )


def test_strict_mode_exits_78_for_an_adapter_nobody_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_")}
    argv = [sys.executable, "-m", "snakepit_host", "plugins", "--plugins", "", "--strict-plugins", "--adapter", SPEC]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert done.returncode == 78
    assert f"plugin TheirAdapter failed: ImportError: cannot import adapter {SPEC}" in done.stderr
