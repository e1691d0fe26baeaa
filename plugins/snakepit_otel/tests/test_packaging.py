"""A real install of the distribution, found through its entry point by the host's CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DISTRIBUTION = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_pip_install_and_entry_point_discovery(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = tmp_path / "build"
    build.mkdir()
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "source"
    shutil.copytree(DISTRIBUTION, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_") or k == "SNAKEPIT_CACHE_DIR"}
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    run([*pip, "--target", str(target), str(source)], env, build)
    assert (target / "snakepit_otel" / "plugin.py").exists()
    assert (target / "snakepit_otel" / "py.typed").exists()

    env["PYTHONPATH"] = str(target)  # ahead of the venv, so this copy wins over an editable install
    listing = json.loads(run([sys.executable, "-m", "snakepit_host", "plugins", "--json"], env, build))
    record = next(item for item in listing if item["name"] == "otel")
    assert record["status"] == "loaded", record
    assert (record["distribution"], record["version"], record["module"]) == (
        "snakepit-otel",
        "0.1.0",
        "snakepit_otel.plugin",
    )
    assert record["provides"] == {"call_observers": ["tracing"]}
    assert record["hooks"] == ["host_stopping", "register_call_observers", "register_options"]

    probe = (
        "import sys, snakepit_otel.plugin as p; "
        "print(p.__file__); print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    where, heavy = run([sys.executable, "-c", probe], env, build).splitlines()
    assert where.startswith(str(target))
    assert heavy == "[]"  # the entry module imports only the host: OpenTelemetry loads when --otel is on
