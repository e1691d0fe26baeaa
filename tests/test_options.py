"""Plugin options: typed, from the command line or the environment, checked once at start-up."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostproc import HostProcess, python

from snakepit_host import hookimpl
from snakepit_host._errors import RegistrationError
from snakepit_host._plugin_manager import PluginLoadError
from snakepit_host.host_client import SnakepitClient
from snakepit_host.testing import make_plugin_manager, running_host

Spawn = Callable[..., HostProcess]


class Settings:
    @hookimpl
    def register_options(self, register: Any) -> None:
        register.option("demo_level", type=int, default=3, minimum=1, env="SNAKEPIT_DEMO_LEVEL", help="how loud")
        register.option("demo_ratio", type=float, default=0.5, env="SNAKEPIT_DEMO_RATIO")
        register.option("demo_mode", default="fast", choices=("fast", "safe"), env="SNAKEPIT_DEMO_MODE")
        register.option("demo_dry_run", type=bool, default=False, env="SNAKEPIT_DEMO_DRY_RUN")
        register.option("demo_name", env="SNAKEPIT_DEMO_NAME")

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("demo", lambda ctx, params: {"level": ctx.host.option("demo_level")})


def values(given: dict[str, Any] | None = None, **environment: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        with running_host(Settings, options=given or {}) as running:
            return {name: running.host.option(name) for name in running.host.plugins.options.specs}


def test_defaults_environment_and_given_values_are_typed() -> None:
    assert values() == {
        "demo_level": 3,
        "demo_ratio": 0.5,
        "demo_mode": "fast",
        "demo_dry_run": False,
        "demo_name": None,
    }
    from_env = values(SNAKEPIT_DEMO_LEVEL="7", SNAKEPIT_DEMO_RATIO="2", SNAKEPIT_DEMO_DRY_RUN="yes")
    assert (from_env["demo_level"], from_env["demo_ratio"], from_env["demo_dry_run"]) == (7, 2.0, True)
    given = values({"demo_level": "9", "demo_mode": "safe", "demo_name": "x"}, SNAKEPIT_DEMO_LEVEL="7")
    assert (given["demo_level"], given["demo_mode"], given["demo_name"]) == (9, "safe", "x")  # the flag wins
    assert values({"demo_level": 4, "demo_ratio": 1})["demo_ratio"] == 1.0  # typed values from tests are taken


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        ({"SNAKEPIT_DEMO_LEVEL": "loud"}, "option --demo-level: $SNAKEPIT_DEMO_LEVEL is 'loud', not an integer"),
        ({"SNAKEPIT_DEMO_LEVEL": "0"}, "option --demo-level: $SNAKEPIT_DEMO_LEVEL is '0', below the minimum 1"),
        (  # the first bad value is the reason; the plugin's other options are not looked at
            {"SNAKEPIT_DEMO_RATIO": "half", "SNAKEPIT_DEMO_MODE": "slow"},
            "option --demo-ratio: $SNAKEPIT_DEMO_RATIO is 'half', not a number",
        ),
        ({"SNAKEPIT_DEMO_MODE": "slow"}, "option --demo-mode: $SNAKEPIT_DEMO_MODE is 'slow', not one of fast, safe"),
        (
            {"SNAKEPIT_DEMO_DRY_RUN": "maybe"},
            "option --demo-dry-run: $SNAKEPIT_DEMO_DRY_RUN is 'maybe', not a boolean (1/0, true/false, yes/no)",
        ),
    ],
)
def test_a_bad_value_is_the_plugins_error(
    environment: dict[str, str], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    plugins = make_plugin_manager(Settings, strict=False)
    registry = plugins.build_registry()
    assert (plugins.records["Settings"].status, plugins.records["Settings"].error) == ("error", reason)
    assert "demo" not in registry.commands and not plugins.options.owned_by("Settings")
    with pytest.raises(PluginLoadError, match=re.escape(reason)):
        make_plugin_manager(Settings).build_registry()


def test_declarations_are_checked() -> None:
    class Twin:
        @hookimpl
        def register_options(self, register: Any) -> None:
            register.option("demo_level", type=int)

    class BadDefault:
        @hookimpl
        def register_options(self, register: Any) -> None:
            register.option("bad_default", type=int, default="many")

    class BadName:
        @hookimpl
        def register_options(self, register: Any) -> None:
            register.option("Bad-Name")

    plugins = make_plugin_manager(Settings, Twin, BadDefault, BadName, strict=False)
    plugins.build_registry()
    errors = {name: plugins.records[name].error for name in ("Twin", "BadDefault", "BadName")}
    assert errors["Twin"] == (
        "register_options failed: RegistrationError: option --demo-level from plugin 'Twin' collides with "
        "option --demo-level declared by plugin 'Settings'"
    )
    assert "option --bad-default: its default is 'many', not an integer" in (errors["BadDefault"] or "")
    assert "option 'Bad-Name' must be lower case letters" in (errors["BadName"] or "")
    assert plugins.records["Settings"].status == "loaded"


def test_unknown_names_are_refused() -> None:
    with pytest.raises(RegistrationError, match=r"unknown plugin option\(s\) demo_levle"):
        make_plugin_manager(Settings).build_registry({"demo_levle": 3})
    with running_host(Settings) as running, pytest.raises(KeyError, match="no plugin option 'nope'"):
        running.host.option("nope")


PLUGIN = textwrap.dedent(
    """
    from snakepit_host import hookimpl

    @hookimpl
    def register_options(register):
        register.option("demo_level", type=int, default=3, minimum=1, env="SNAKEPIT_DEMO_LEVEL", metavar="N",
                        help="how loud the demo is")

    @hookimpl
    def register_commands(register):
        register.command("demo", lambda ctx, params: {"level": ctx.host.option("demo_level")})
    """
)


def installed(site: Path) -> dict[str, str]:
    """The plugin above as an installed distribution (entry point ``demo``), and the environment that finds it."""
    (site / "demo_options.py").write_text(PLUGIN)
    info = site / "snakepit_demo_options-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: snakepit-demo-options\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[snakepit]\ndemo = demo_options\n")
    return {"PYTHONPATH": str(site), "SNAKEPIT_PLUGINS": "demo"}


def cli(site: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    command = [python(), "-m", "snakepit_host", *args]
    env = {**installed(site), **environment}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_serve_help_shows_the_flag_with_its_default_and_variable(tmp_path: Path) -> None:
    done = cli(tmp_path, "serve", "--help")
    assert done.returncode == 0, done.stderr
    help_text = " ".join(done.stdout.split())
    assert "plugin demo: --demo-level N how loud the demo is (at least 1; default 3; env SNAKEPIT_DEMO_LEVEL)" in (
        help_text
    )


def test_the_flag_and_the_variable_reach_the_plugin_typed(tmp_path: Path, spawn_host: Spawn) -> None:
    env = {**installed(tmp_path), "SNAKEPIT_DEMO_LEVEL": "4"}
    for extra, expected in (([], 4), (["--demo-level", "6"], 6)):
        host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0", *extra], env)
        with SnakepitClient(f"127.0.0.1:{host.wait_ready()}") as client:
            assert client.call("demo") == {"level": expected}
        host.process.terminate()
        assert host.wait() == 0


def test_a_bad_value_is_listed_and_fatal_in_strict_mode(tmp_path: Path) -> None:
    listed = cli(tmp_path, "plugins", "--json", SNAKEPIT_DEMO_LEVEL="loud")
    demo = next(p for p in json.loads(listed.stdout) if p["name"] == "demo")
    assert (demo["status"], demo["error"]) == (
        "error",
        "option --demo-level: $SNAKEPIT_DEMO_LEVEL is 'loud', not an integer",
    )
    strict = cli(tmp_path, "serve", "--port", "0", "--strict-plugins", "--demo-level", "0")
    assert strict.returncode == 78 and strict.stdout == ""
    assert "option --demo-level: --demo-level is '0', below the minimum 1 (strict plugin mode)" in strict.stderr
