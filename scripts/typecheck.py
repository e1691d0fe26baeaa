"""Run mypy (strict, ``[tool.mypy]`` in pyproject.toml) over the sources and over every test directory.

``scripts/check`` runs this (``.venv/bin/python scripts/typecheck.py``). The
first run is plain ``mypy``: the files pyproject.toml lists (host, plugins,
example, scripts, bench). Then one run per test directory, because test
directories are not packages (no ``__init__.py``; pytest imports them with
``--import-mode=importlib``): each is a top-level root of its own, and they share
module names (every one has a ``conftest.py``; several a ``test_packaging.py``),
so one mypy run over all of them reports duplicate modules.

The test directories are found, not listed: ``tests/``, ``plugins/*/tests/``,
``examples/*/tests/``, so a new plugin distribution's tests are checked without
editing this script (tests/test_typecheck_coverage.py checks that no test
file lies outside them; tests/test_guards.py reads them from here too). Their
``data/`` trees are not checked (pyproject's ``exclude``): stand-ins of foreign
packages and deliberately broken plugins.

The plugins are installed editable through import-hook finders, which mypy
cannot follow, so every distribution's folder goes on ``MYPYPATH``, and so do
``tests/`` and ``scripts/`` (pytest's ``pythonpath``: plugin tests import the
helpers in tests/, and tests import these scripts as modules). All runs
share mypy's cache, so the host and plugins are analysed once, not per run.

Every run's report is printed; the exit status is 1 if any run failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checked_directories(root: Path = ROOT) -> list[Path]:
    """The test directories, each checked by a mypy run of its own."""
    found = [root / "tests", *root.glob("plugins/*/tests"), *root.glob("examples/*/tests")]
    return sorted(path for path in found if path.is_dir())


def search_path(root: Path = ROOT) -> list[Path]:
    """``MYPYPATH``: where the tests' imports of plugins and of tests/ helpers are found."""
    return [root / "tests", root / "scripts", *sorted(path.parent for path in root.glob("*/*/pyproject.toml"))]


def runs(root: Path = ROOT) -> list[list[str]]:
    """The mypy command lines, relative to ``root``: the sources first, then each test directory."""
    mypy = [sys.executable, "-m", "mypy"]
    return [mypy, *([*mypy, str(path.relative_to(root))] for path in checked_directories(root))]


def main() -> int:
    env = {**os.environ, "MYPYPATH": os.pathsep.join(str(path) for path in search_path())}
    failed = 0
    for command in runs():
        what = command[3] if len(command) > 3 else "sources"
        print(f"-- {what}", flush=True)
        failed |= subprocess.run(command, cwd=ROOT, env=env).returncode != 0
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
