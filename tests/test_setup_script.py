"""scripts/setup installs once and then returns at once, silently, until something it depends on changes.

It runs here on a small checkout of its own: a fake ``snakepit-host`` wheel in
requirements-dev.txt, pip offline (``--no-index``), the Python this venv was made from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_packages import ROOT

pytestmark = pytest.mark.packaging
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")
ENTRY_POINTS = "import importlib.metadata as m; print(sorted(e.name for e in m.entry_points(group='snakepit')))"


def wheel(tmp_path: Path, name: str, entry_points: str) -> Path:
    """A real wheel of a one-module distribution, built with setuptools."""
    source = tmp_path / "sources" / name
    source.mkdir(parents=True)
    (source / f"{name}.py").write_text("def main():\n    print('hello')\n")
    (source / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n\n{entry_points}\n\n'
        f'[tool.setuptools]\npy-modules = ["{name}"]\n'
    )
    out = tmp_path / "wheels"
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return next(out.glob(f"{name}-*.whl"))


def setup(checkout: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHON=BASE_PYTHON, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1")
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "setup")], env=env, capture_output=True, text=True, timeout=600
    )


def test_setup_runs_once_then_again_only_when_its_inputs_change(tmp_path: Path) -> None:
    host = wheel(tmp_path, "fake_host", '[project.scripts]\nsnakepit-host = "fake_host:main"')
    second = wheel(tmp_path, "second_plugin", '[project.entry-points.snakepit]\nsecond = "second_plugin"')
    checkout = tmp_path / "checkout"
    for folder in ("scripts", "snakepit_host", "plugins", "examples"):
        (checkout / folder).mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", checkout / "scripts" / "setup")
    (checkout / "pyproject.toml").write_text("[project]\nname = 'checkout'\n")
    requirements = checkout / "requirements-dev.txt"
    requirements.write_text(f"{host}\n")
    venv_python = str(checkout / ".venv" / "bin" / "python")
    log = checkout / ".venv" / "setup.log"

    first = setup(checkout)
    assert first.returncode == 0, first.stderr
    assert "setup: creating .venv with" in first.stderr and first.stdout == ""
    assert (checkout / ".venv" / "bin" / "snakepit-host").exists()

    stamp = log.stat().st_mtime_ns
    again = setup(checkout)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")  # nothing changed: silent
    assert log.stat().st_mtime_ns == stamp  # and pip did not run (each pip run rewrites the log)

    requirements.write_text(f"{host}\n{second}\n")  # a new plugin distribution
    added = setup(checkout)
    assert added.returncode == 0, added.stderr
    assert "pip: requirements-dev.txt" in added.stderr and log.stat().st_mtime_ns != stamp
    listed = subprocess.run([venv_python, "-c", ENTRY_POINTS], capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == "['second']"

    (checkout / "plugins" / "new").mkdir()
    (checkout / "plugins" / "new" / "pyproject.toml").write_text("[project]\nname = 'new'\n")
    assert "pip: requirements-dev.txt" in setup(checkout).stderr  # a new or changed pyproject.toml

    requirements.write_text(f"{host}\n{second}\n{tmp_path / 'missing-1.0-py3-none-any.whl'}\n")
    failed = setup(checkout)
    assert failed.returncode == 1 and "setup: failed:" in failed.stderr
    assert "missing-1.0-py3-none-any.whl" in failed.stderr  # pip's reason, from the log
    requirements.write_text(f"{host}\n{second}\n")
    assert "pip: requirements-dev.txt" in setup(checkout).stderr  # a failed setup is not taken as done

    (checkout / ".venv" / "bin" / "python").unlink()  # a broken venv
    remade = setup(checkout)
    assert remade.returncode == 0, remade.stderr
    assert "making .venv anew: its Python does not run" in remade.stderr
    listed = subprocess.run([venv_python, "-c", ENTRY_POINTS], capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == "['second']"  # installed anew
    assert setup(checkout).stderr == ""
