"""The distribution installs for real and its entry point is found; numpy and re2 stay unimported until needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from plugin_packages import install_alone, python_lines

PLUGIN_DIR = Path(__file__).resolve().parents[1]


def test_pip_install_exposes_the_entry_point(tmp_path: Path) -> None:
    site, env, plugins = install_alone(PLUGIN_DIR, tmp_path)
    record = plugins["variables"]
    assert record["status"] == "loaded" and record["distribution"] == "snakepit-variables"
    assert "RegisterVariable" in record["provides"]["rpcs"] and "tensor" in record["provides"]["types"]
    probe = (
        "import snakepit_host._entry_points as e, snakepit_variables as v;"
        "print([p.metadata_dir for p in e.scan('snakepit') if p.name == 'variables'][0]); print(v.__file__)"
    )
    metadata_dir, module_file = python_lines(probe, env, tmp_path)
    assert metadata_dir.startswith(str(site)) and module_file.startswith(str(site))


LAZY_IMPORTS = textwrap.dedent(
    """
    import json, sys
    import snakepit_variables, snakepit_variables.plugin as plugin
    from snakepit_host.testing import running_host
    from snakepit_variables.testing import VariableRpcs

    loaded = {}
    with running_host(plugin) as running:
        rpcs = VariableRpcs(running.client().stub, "s")
        rpcs.register("temperature", "float", 0.5, {"max": 1})
        rpcs.set("temperature", 0.75)
        rpcs.value("temperature")
        rpcs.register("name", "string", "ann", {"max_length": 10})
        running.client().call("get_variable", {"name": "temperature"}, session_id="s")
        loaded["before"] = sorted(m for m in ("numpy", "re2") if m in sys.modules)
        rpcs.register("e", "embedding", [1.0, 2.0])
        loaded["embedding"] = sorted(m for m in ("numpy", "re2") if m in sys.modules)
        rpcs.register("code", "string", "ab", {"pattern": "^[a-z]+$"})
        loaded["pattern"] = sorted(m for m in ("numpy", "re2") if m in sys.modules)
    print(json.dumps(loaded))
    """
)


def test_numpy_and_re2_load_only_when_a_value_needs_them(tmp_path: Path) -> None:
    assert json.loads(python_lines(LAZY_IMPORTS, dict(os.environ), tmp_path)[-1]) == {
        "before": [],
        "embedding": ["numpy"],
        "pattern": ["numpy", "re2"],
    }


def test_serve_flags_choose_the_store_and_describe_shows_it(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "variables"]
    argv += ["--variables-store", "memory", "--variables-history", "3"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_") or k == "SNAKEPIT_CACHE_DIR"}
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        port = next(int(line.split(":", 1)[1]) for line in process.stdout if line.startswith("GRPC_READY:"))
        from snakepit_host.host_client import SnakepitClient

        with SnakepitClient(f"127.0.0.1:{port}") as client:
            client.call("register_variable", {"name": "x", "type": "integer", "value": 0}, session_id="s")
            for value in range(1, 6):
                client.call("set_variable", {"name": "x", "value": value}, session_id="s")
            history = client.call("variable_history", {"name": "x"}, session_id="s")
            status = client.call("describe", {})["status"]["variables"]
        assert [entry["version"] for entry in history] == [3, 4, 5]
        assert status["store"] == "memory" and status["requested"] == "memory" and status["history_limit"] == 3
    finally:
        process.terminate()
        process.wait(timeout=30)
