"""Broken plugins, installed for real with pip: listed with a reason, isolated, fatal only in strict mode.

The packages under ``tests/data/broken_plugins/`` are installed once for the
module into a temporary folder. Each test runs ``snakepit-host`` as a
subprocess with that folder on ``PYTHONPATH``, as an operator would after
``pip install``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hostproc import HostProcess
from plugin_packages import ROOT, SNAKEPIT_HOST, cli_env, listing, pip_install, run_cli

from snakepit_host import __version__
from snakepit_host.host_client import SnakepitClient

Spawn = Callable[..., HostProcess]
PACKAGES = ROOT / "tests" / "data" / "broken_plugins"
EXIT_PLUGIN_ERROR = 78

# plugin (entry-point name) -> (status, one-line reason it must show)
BROKEN: dict[str, tuple[str, str]] = {
    "broken_import": ("error", "ModuleNotFoundError: No module named 'snakepit_no_such_dependency'"),
    "broken_signature": (
        "error",
        "PluginValidationError: Plugin 'broken_signature' for hook 'register_commands' hookimpl definition: "
        "register_commands(register, nonsense) Argument(s) {'nonsense'} are declared in the hookimpl but can not "
        "be found in the hookspec",
    ),
    "broken_duplicate": (
        "error",
        "register_commands failed: RegistrationError: command 'echo' from plugin 'broken_duplicate' collides with "
        "command 'echo' registered by plugin 'core'",
    ),
    "twin": (
        "error",
        "register_commands failed: RegistrationError: command 'good_hello' from plugin 'twin' collides with "
        "command 'good_hello' registered by plugin 'good'",
    ),
    "future": ("incompatible", f"requires snakepit-host >=9, this host is {__version__}"),
    "broken_unknown_hook": (
        "error",
        "implements unknown hook 'register_comands' (a typo, or a hook of a plugin that is not installed: "
        "mark it @hookimpl(optionalhook=True))",
    ),
    "broken_register": ("error", "register_commands failed: RuntimeError: database is not configured"),
    "broken_async": (
        "error",
        "RegistrationError: register_commands is 'async def', which only the lifecycle hooks (host_started, "
        "host_stopping, session_closed, session_created) may be: it must do its work before it returns",
    ),
    "broken_wrapper": (
        "error",
        "RegistrationError: register_commands is marked wrapper=True; host hooks are called plugin by plugin, "
        "so wrappers are not supported",
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pip_install(sorted(p for p in PACKAGES.iterdir() if p.is_dir()), tmp_path_factory.mktemp("broken"))


def test_packages_were_installed_as_distributions(site: Path) -> None:
    entry_points = (site / "snakepit_test_future-0.1.0.dist-info" / "entry_points.txt").read_text()
    assert "[snakepit]" in entry_points and "future = future_plugin" in entry_points


def test_listing_shows_each_broken_plugin_with_its_status_and_reason(site: Path) -> None:
    plugins = listing(cli_env(site))
    for name, (status, reason) in BROKEN.items():
        assert (plugins[name]["status"], plugins[name]["error"]) == (status, reason), name
        assert "\n" not in reason and plugins[name]["provides"] == {}, name
    assert plugins["good"]["status"] == "loaded" and plugins["good"]["provides"] == {"commands": ["good_hello"]}
    assert plugins["good"]["distribution"] == "snakepit-test-good" and plugins["good"]["version"] == "0.1.0"
    assert plugins["future"]["requirement"] == ">=9"
    assert plugins["classy"]["status"] == "loaded" and plugins["classy"]["module"] == "classy_plugin:Plugin"
    assert plugins["core"]["provides"]["commands"] == ["describe", "echo", "ping", "stats"]


def test_table_shows_status_and_reason_on_one_line(site: Path) -> None:
    done = run_cli(["plugins"], cli_env(site))
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    for name, (status, reason) in BROKEN.items():
        assert rows[name].split()[1] == status and rows[name].endswith(reason), rows[name]
    assert rows["good"].split()[1] == "loaded" and rows["good"].endswith("commands: good_hello")
    assert done.stderr == ""  # the table is the report: no log line repeats a reason above it


def test_the_host_serves_the_good_plugins_over_grpc(site: Path, spawn_host: Spawn) -> None:
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0"], cli_env(site))
    port = host.wait_ready()
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        assert client.call("good_hello") == "hello from good"
        assert client.call("classy_hello") == "hello from a class"  # an entry point naming a class
        assert client.call("echo", {"mine": True}) == {"mine": True}  # the built-in, not broken_duplicate's
        described = client.call("describe")
    commands = {c["name"] for c in described["commands"]}
    assert "good_hello" in commands
    assert not commands & {"never_registered", "twin_only", "half_done", "typo", "never_awaited", "wrapped"}
    statuses = {p["name"]: (p["status"], p["error"]) for p in described["plugins"]}
    assert {name: statuses[name] for name in BROKEN} == BROKEN
    remote = run_cli(["describe", "--address", f"127.0.0.1:{port}"], cli_env(site))
    assert remote.returncode == 0 and json.loads(remote.stdout)["plugins"] == described["plugins"]
    host.process.terminate()
    assert host.wait() == 0
    assert host.stdout_lines == [f"GRPC_READY:{port}\n"]  # stdout carries only the readiness line
    # A worker logs each failure once, on stderr.
    assert host.stderr.count("plugin broken_import (distribution snakepit-broken-import) failed") == 1


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_strict_mode_refuses_to_start(site: Path, name: str) -> None:
    env = cli_env(site, SNAKEPIT_STRICT_PLUGINS="1")
    done = run_cli(["serve", "--port", "0", "--plugins", f"good,{name}"], env)
    assert done.returncode == EXIT_PLUGIN_ERROR, done.stderr
    assert done.stdout == ""  # never ready
    assert f"snakepit-host: plugin {name} " in done.stderr and BROKEN[name][1] in done.stderr
    assert done.stderr.rstrip().endswith("(strict plugin mode)")


def test_strict_mode_flag_and_a_clean_selection(site: Path, spawn_host: Spawn) -> None:
    flagged = run_cli(["plugins", "--strict-plugins", "--plugins", "good,broken_register"], cli_env(site))
    assert flagged.returncode == EXIT_PLUGIN_ERROR and BROKEN["broken_register"][1] in flagged.stderr
    # Strict, but every selected plugin is fine: the host starts.
    host = spawn_host(
        [SNAKEPIT_HOST, "serve", "--port", "0", "--plugins", "good"], cli_env(site, SNAKEPIT_STRICT_PLUGINS="1")
    )
    with SnakepitClient(f"127.0.0.1:{host.wait_ready()}") as client:
        assert client.call("good_hello") == "hello from good"
    host.process.terminate()
    assert host.wait() == 0


def test_health_check_counts_broken_plugins(site: Path) -> None:
    done = run_cli(["serve", "--health-check", "--plugins", "good,future"], cli_env(site))
    assert done.returncode == 1
    assert f"plugin future: requires snakepit-host >=9, this host is {__version__}" in done.stderr
    healthy = run_cli(["serve", "--health-check", "--plugins", "good"], cli_env(site))
    assert healthy.returncode == 0 and "0 failed" in healthy.stdout


# ---------------------------------------------------------------- selection acts before import


def test_disable_by_environment_is_applied_before_import(site: Path) -> None:
    plugins = listing(cli_env(site, SNAKEPIT_DISABLE_PLUGINS="broken_import, snakepit-test-future"))
    # Imported, broken_import would be "error"; future's module raises on import.
    assert (plugins["broken_import"]["status"], plugins["broken_import"]["error"]) == ("disabled", None)
    assert (plugins["future"]["status"], plugins["future"]["error"]) == ("disabled", None)
    assert plugins["good"]["status"] == "loaded" and plugins["broken_register"]["status"] == "error"


def test_disable_flag_takes_entry_point_or_distribution_names(site: Path) -> None:
    plugins = listing(
        cli_env(site), "--disable-plugin", "broken_import", "--disable-plugin", "snakepit-broken-signature"
    )
    assert plugins["broken_import"]["status"] == plugins["broken_signature"]["status"] == "disabled"
    assert plugins["good"]["status"] == "loaded"


def test_allow_list_by_environment_and_flag(site: Path) -> None:
    only_good = listing(cli_env(site, SNAKEPIT_PLUGINS="good"))
    assert {name for name, p in only_good.items() if p["status"] == "loaded"} == {"core", "good"}
    assert all(only_good[name]["status"] == "disabled" for name in BROKEN)
    # The flag wins over the environment variable.
    flagged = listing(cli_env(site, SNAKEPIT_PLUGINS="broken_import"), "--plugins", "good")
    assert flagged["broken_import"]["status"] == "disabled" and flagged["good"]["status"] == "loaded"
    # An empty list means built-ins only.
    builtins_only = listing(cli_env(site), "--plugins", "")
    assert {name for name, p in builtins_only.items() if p["status"] == "loaded"} == {"core"}


def test_a_disabled_plugin_never_fails_strict_mode(site: Path) -> None:
    env = cli_env(site, SNAKEPIT_STRICT_PLUGINS="1", SNAKEPIT_PLUGINS="good,broken_import")
    done = run_cli(["plugins", "--json", "--disable-plugin", "broken_import"], env)
    assert done.returncode == 0, done.stderr
    assert {p["name"]: p["status"] for p in json.loads(done.stdout)}["broken_import"] == "disabled"
