"""Install plugin packages for real (pip, into a target folder) and run ``snakepit-host`` against them.

The packages are copied first, so building them leaves no ``build/`` or
``*.egg-info`` in the source tree, and installed without network access
(``--no-index --no-deps --no-build-isolation``: setuptools is in the venv).
A subprocess sees them through ``PYTHONPATH``, ahead of site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SNAKEPIT_HOST = str(Path(sys.executable).with_name("snakepit-host"))
PLUGIN_SETTINGS = ("SNAKEPIT_PLUGINS", "SNAKEPIT_DISABLE_PLUGINS", "SNAKEPIT_STRICT_PLUGINS", "SNAKEPIT_READY_FILE")


def pip_install(sources: list[Path], workdir: Path) -> Path:
    """Install every package in ``sources`` into ``workdir/site`` with one pip run; return that folder."""
    copies = []
    for source in sources:
        copy = workdir / "src" / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        copies.append(str(copy))
    site = workdir / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), *copies]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise AssertionError(f"pip install failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return site


def cli_env(site: Path, **settings: str) -> dict[str, str]:
    """The environment of a host subprocess: ``site`` first on the path, plugin settings only as given."""
    env = {key: value for key, value in os.environ.items() if key not in PLUGIN_SETTINGS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["SNAKEPIT_LOG_LEVEL"] = "info"
    env.update(settings)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SNAKEPIT_HOST, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def listing(env: dict[str, str], *args: str) -> dict[str, dict[str, Any]]:
    """``snakepit-host plugins --json``, by plugin name."""
    done = run_cli(["plugins", "--json", *args], env)
    assert done.returncode == 0, done.stderr
    return {item["name"]: item for item in json.loads(done.stdout)}


def python_lines(code: str, env: dict[str, str], cwd: Path) -> list[str]:
    """The lines ``python -c code`` prints; ``cwd`` (first on its path) should hold no package of the checkout."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"python -c failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


class Installed(NamedTuple):
    """One distribution installed alone: where, the environment that sees it, and the host's plugin listing there."""

    site: Path
    env: dict[str, str]
    plugins: dict[str, dict[str, Any]]


def install_alone(distribution: Path, workdir: Path, *listing_args: str, path: tuple[Path, ...] = ()) -> Installed:
    """pip-install a plugin distribution (a copy) and list the plugins with it ahead of the venv's editable install.

    Its package (named as its folder) must ship ``py.typed``: its users type-check
    against it. ``path`` goes last on ``PYTHONPATH``.
    """
    site = pip_install([distribution], workdir)
    package = site / distribution.name
    assert {"plugin.py", "py.typed"} <= {entry.name for entry in package.iterdir()}, f"{package} lacks files"
    env = cli_env(site)
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], *map(str, path)])
    return Installed(site, env, listing(env, *listing_args))
