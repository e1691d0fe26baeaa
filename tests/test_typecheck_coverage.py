"""Every test file is type-checked: it lies in a directory that scripts/typecheck.py checks.

pytest collects test files anywhere under its ``testpaths``, but typecheck.py
checks only the test directories it finds by pattern (``tests/``,
``plugins/*/tests/``, ``examples/*/tests/``), so a test file elsewhere (in a
plugin's package, a new top-level folder) would run unchecked. Not looked into:
``.venv``, ``build``, ``dist``, hidden folders, and the test directories'
``data/`` trees (stand-ins of foreign packages and broken plugins, which the
mypy configuration excludes).
"""

from __future__ import annotations

import os
from pathlib import Path

import typecheck
from plugin_packages import ROOT

NOT_SOURCE = {".venv", "build", "dist", "__pycache__"}


def unchecked_test_files(root: Path) -> list[str]:
    """Test modules and conftest files below ``root`` that no typecheck.py run covers, relative to ``root``."""
    checked = typecheck.checked_directories(root)
    skipped = {directory / "data" for directory in checked}
    found = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = [
            name
            for name in subfolders
            if name not in NOT_SOURCE and not name.startswith(".") and here / name not in skipped
        ]
        for name in files:
            is_test = name == "conftest.py" or (name.startswith("test_") and name.endswith(".py"))
            if is_test and not any(here.is_relative_to(directory) for directory in checked):
                found.append((here / name).relative_to(root).as_posix())
    return sorted(found)


def test_every_test_file_of_the_repository_is_type_checked() -> None:
    assert unchecked_test_files(ROOT) == [], "move these into a checked test directory (scripts/typecheck.py)"


def test_a_test_file_outside_the_test_directories_is_found(tmp_path: Path) -> None:
    for relative in [
        "tests/test_host.py",
        "tests/data/broken_plugin/test_inside_data.py",
        "plugins/snakepit_new/tests/conftest.py",
        "plugins/snakepit_new/snakepit_new/test_stray.py",
        "examples/demo/tests/test_demo.py",
        "tools/conftest.py",
        ".venv/lib/site-packages/pkg/test_vendored.py",
        "build/lib/test_built.py",
    ]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    assert unchecked_test_files(tmp_path) == ["plugins/snakepit_new/snakepit_new/test_stray.py", "tools/conftest.py"]
