"""A real install of the distribution, found through its entry point; its entry module imports only the host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DISTRIBUTION = Path(__file__).resolve().parents[1]
STAND_IN = DISTRIBUTION / "tests" / "data" / "snakepit_v013" / "priv" / "python"


def run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_pip_install_and_entry_point_discovery(tmp_path: Path) -> None:
    target, build, source = tmp_path / "site", tmp_path / "build", tmp_path / "source"
    build.mkdir()
    shutil.copytree(DISTRIBUTION, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_")}
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    run([*pip, "--target", str(target), str(source)], env, build)
    assert (target / "snakepit_adapters" / "plugin.py").exists()
    assert (target / "snakepit_adapters" / "py.typed").exists()

    env["PYTHONPATH"] = os.pathsep.join([str(target), str(STAND_IN)])
    spec = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
    listing = json.loads(
        run([sys.executable, "-m", "snakepit_host", "plugins", "--json", "--adapter", spec], env, build)
    )
    records = {item["name"]: item for item in listing}
    assert (records["adapters"]["distribution"], records["adapters"]["module"]) == (
        "snakepit-adapters",
        "snakepit_adapters.plugin",
    )
    assert records["adapters"]["hooks"] == ["register_options", "serve_adapter"]
    assert records["ShowcaseAdapter"]["status"] == "loaded"
    assert records["ShowcaseAdapter"]["note"].startswith(
        "served by plugin 'adapters': Snakepit adapter ShowcaseAdapter"
    )

    probe = (
        "import sys, snakepit_adapters.plugin as p; print(p.__file__); "
        "print(sorted(m for m in sys.modules if m.startswith('snakepit_adapters.')))"
    )
    where, loaded = run([sys.executable, "-c", probe], env, build).splitlines()
    assert where.startswith(str(target))
    assert loaded == "['snakepit_adapters.plugin']", "the machinery loads only when an adapter is served"
