"""How ``--adapter`` is resolved, and what an adapter that cannot be served looks like (never silent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import snakepit_dspy.plugin as dspy_plugin

from snakepit_host._plugin_manager import PluginLoadError

Serve = Callable[..., Any]
DATA = Path(__file__).resolve().parent / "data"
ADAPTERS = DATA / "adapters"
PRIV_PYTHON_013 = DATA / "snakepit_v013" / "priv" / "python"
SHOWCASE = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"


def cli(args: list[str], *paths: object, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "snakepit_host", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_plugin_that_stands_in_serves_the_adapter_without_importing_it(serve: Serve) -> None:
    served = serve("dspex_adapters.dspy_grpc.DSPyGRPCHandler", dspy_plugin)
    record = served.listing()["DSPyGRPCHandler"]
    assert (record["status"], record["kind"], record["note"]) == (
        "loaded",
        "adapter",
        "served by plugin 'snakepit_dspy.plugin', which stands in for it",
    )
    assert "dspex_adapters" not in sys.modules, "the adapter itself is never imported"
    commands = {c["name"]: c["owner"] for c in served.running.host.describe()["commands"]}
    assert commands["configure_lm"] == commands["call_dspy"] == "snakepit_dspy.plugin"


def test_a_host_plugin_named_by_adapter_is_loaded_as_a_plugin(serve: Serve) -> None:
    served = serve("host_plugin_module")
    record = served.listing()["host_plugin_module"]
    assert (record["status"], record["kind"], record["note"]) == ("loaded", "plugin", None)
    assert served.client.call("from_host_plugin") == "plugin answered"


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("no_such_package.Adapter", "ImportError: cannot import adapter no_such_package.Adapter: ModuleNotFoundError"),
        (
            "missing_dependency_adapter.NeedsIt",
            "ImportError: cannot import adapter missing_dependency_adapter.NeedsIt: ModuleNotFoundError: "
            "No module named 'definitely_not_installed_module'",
        ),
        ("bad_adapters.InitFails", "RuntimeError: InitFails() failed: RuntimeError: cannot load model weights"),
        (
            "bad_adapters.NotAnAdapter",
            "NotAnAdapter: bad_adapters.NotAnAdapter is not a Snakepit adapter (no execute_tool, @tool methods or "
            "set_session_context) and not a host plugin (no @hookimpl functions)",
        ),
        ("json", "NotAnAdapter: json is a module, not a class: neither a Snakepit adapter nor a host plugin"),
        ("bad_adapters.CLEANED", "NotAnAdapter: bad_adapters.CLEANED is a list, not a class"),
    ],
)
def test_an_adapter_that_cannot_be_served_is_an_error_and_the_host_serves_the_rest(
    serve: Serve, spec: str, error: str
) -> None:
    served = serve(spec, strict=False)
    name = spec.rsplit(".", 1)[-1]
    record = served.listing()[name]
    assert record["status"] == "error" and record["kind"] == "adapter"
    assert record["error"].startswith(error), record["error"]
    assert served.client.call("echo", {"still": "serving"}) == {"still": "serving"}


def test_strict_mode_makes_an_unservable_adapter_fatal(serve: Serve) -> None:
    with pytest.raises(PluginLoadError, match="plugin NeedsIt failed: .*definitely_not_installed_module"):
        serve("missing_dependency_adapter.NeedsIt", strict=True)


def test_the_listing_shows_the_adapter_with_status_and_reason() -> None:
    shown = cli(["plugins", "--adapter", "snakepit_bridge.adapters.showcase.ShowcaseAdapter"], PRIV_PYTHON_013)
    row = next(line for line in shown.stdout.splitlines() if line.startswith("ShowcaseAdapter"))
    assert "(adapter)  loaded" in row and "served by plugin 'adapters'" in row
    assert "commands: adapter_info, basic_add, echo, process_text, stream_data" in row
    assert "shadows: echo (of core)" in row
    assert "shadowed: echo (by ShowcaseAdapter)" in next(
        line for line in shown.stdout.splitlines() if line.startswith("core")
    )
    failed = cli(["plugins", "--json", "--adapter", "missing_dependency_adapter.NeedsIt"], ADAPTERS)
    record = next(r for r in json.loads(failed.stdout) if r["name"] == "NeedsIt")
    assert record["status"] == "error" and "definitely_not_installed_module" in record["error"]
    assert "NeedsIt failed" not in failed.stderr, "the listing says it; 'plugins' does not log it again"


def test_the_protocol_option_is_typed_and_a_bad_value_fails_the_adapter_with_its_server(serve: Serve) -> None:
    served = serve(SHOWCASE, options={"adapter_protocol": "0.5"}, strict=False)
    records = served.listing()
    server = next(r for r in records.values() if r["hooks"] == ["register_options", "serve_adapter"])
    assert server["error"] == "option --adapter-protocol: --adapter-protocol is '0.5', not one of 0.4, 0.13"
    assert records["ShowcaseAdapter"]["status"] == "error"
    assert (
        records["ShowcaseAdapter"]["error"] == f"plugin '{server['name']}', which serves it, failed: {server['error']}"
    )
    assert served.client.call("echo", {"x": 1}) == {"x": 1}, "the core's echo is back: nothing is shadowed"
    with pytest.raises(PluginLoadError, match="not one of 0.4, 0.13"):
        serve(SHOWCASE, options={"adapter_protocol": "0.5"}, strict=True)


def test_the_protocol_option_reads_its_environment_variable_and_strict_mode_exits_78() -> None:
    spec = ["--adapter", SHOWCASE]
    add = ["call", "add", "--local", "--params", '{"a": 2, "b": 3}', *spec]
    assert cli(add, PRIV_PYTHON_013).stdout == "5.0\n", "0.13 sends integers as floats"
    assert cli(add, PRIV_PYTHON_013, SNAKEPIT_ADAPTER_PROTOCOL="0.4").stdout == "5\n", "0.4 as integers"
    bad = ["plugins", "--strict-plugins", *spec]
    refused = cli(bad, PRIV_PYTHON_013, SNAKEPIT_ADAPTER_PROTOCOL="0.5")
    assert refused.returncode == 78
    assert "option --adapter-protocol: $SNAKEPIT_ADAPTER_PROTOCOL is '0.5', not one of 0.4, 0.13" in refused.stderr
    shown = cli(["serve", "--help", *spec], PRIV_PYTHON_013)
    assert "--adapter-protocol VERSION" in shown.stdout and "env SNAKEPIT_ADAPTER_PROTOCOL" in shown.stdout


def test_snakepits_default_adapter_without_its_priv_python_is_an_error_not_silence() -> None:
    shown = cli(["plugins", "--json", "--adapter", "snakepit_bridge.adapters.enhanced.EnhancedBridge"], ADAPTERS)
    record = next(r for r in json.loads(shown.stdout) if r["name"] == "EnhancedBridge")
    assert record["status"] == "error"
    assert "No module named 'snakepit_bridge'" in record["error"]


def test_the_adapter_is_served_whatever_the_allow_list_and_can_be_denied() -> None:
    spec = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
    allowed = cli(["plugins", "--json", "--plugins", "adapters", "--adapter", spec], PRIV_PYTHON_013)
    assert next(r for r in json.loads(allowed.stdout) if r["name"] == "ShowcaseAdapter")["status"] == "loaded"
    denied = cli(["plugins", "--json", "--disable-plugin", "adapter", "--adapter", spec], PRIV_PYTHON_013)
    assert next(r for r in json.loads(denied.stdout) if r["name"] == "ShowcaseAdapter")["status"] == "disabled"


def test_without_snakepit_adapters_a_snakepit_adapter_is_explained() -> None:
    shown = cli(
        ["plugins", "--json", "--disable-plugin", "adapters", "--adapter", "modern_adapter.ModernAdapter"],
        ADAPTERS,
        PRIV_PYTHON_013,
    )
    record = next(r for r in json.loads(shown.stdout) if r["name"] == "ModernAdapter")
    assert record["error"] == (
        "RegistrationError: modern_adapter.ModernAdapter is not a host plugin (no @hookimpl functions) and no loaded "
        "plugin serves it as an adapter (snakepit-adapters serves Snakepit's adapter classes: install it, and name "
        "it in --plugins if you give an allow list)"
    )


# ---------------------------------------------------------------- Snakepit's generated modules and the host's


PROBE = """
import sys
sys.path.insert(0, {priv!r})
{before}
from snakepit_host.proto import answer_snakepit_imports
try:
    answer_snakepit_imports()
except ImportError as exc:
    print("refused:", exc)
else:
    import snakepit_bridge_pb2, snakepit_bridge_pb2_grpc
    from snakepit_host.proto import snakepit_bridge_pb2 as ours
    print(snakepit_bridge_pb2 is ours, snakepit_bridge_pb2_grpc.BridgeServiceStub.__module__)
"""


def probe(before: str = "") -> str:
    code = PROBE.format(priv=str(PRIV_PYTHON_013), before=before)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() + done.stderr.strip()


def test_the_stand_in_generated_module_really_clashes_with_the_hosts() -> None:
    loaded = "import snakepit_host.proto.snakepit_bridge_pb2, importlib; importlib.import_module('snakepit_bridge_pb2')"
    assert "duplicate symbol 'snakepit.bridge.PingRequest'" in probe(loaded)


def test_the_hosts_modules_answer_imports_of_snakepits() -> None:
    assert probe() == "True snakepit_host.proto.snakepit_bridge_pb2_grpc"


def test_snakepits_module_imported_first_is_a_clear_error() -> None:
    output = probe("import snakepit_bridge_pb2")
    assert output.startswith("refused: snakepit_bridge_pb2 was imported from "), output
    assert "cannot both load in one process" in output
