"""Guards, as datasette keeps them: every hook is exercised by a test, and discovery matches the standard library.

Every hook means the host's (``snakepit_host.hookspecs``) and every hook a
plugin of this repository declares (found by loading the installed plugins,
so a new plugin-defined hook is covered without editing this file). The
docs side of the same guard (a section with the exact signature) is in
``test_docs.py``.
"""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import typecheck
from installed_hooks import all_hook_specs, plugin_defined_hooks

from snakepit_host._entry_points import normalize, scan

TEST_FOLDERS = typecheck.checked_directories()


def _is_hookimpl(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "hookimpl"


def hooks_implemented_in_tests() -> set[str]:
    """Names of every ``@hookimpl`` function or method in the test folders (test plugin packages included)."""
    found: set[str] = set()
    for folder in TEST_FOLDERS:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    _is_hookimpl(d) for d in node.decorator_list
                ):
                    found.add(node.name)
    return found


def test_plugin_defined_hooks_are_found() -> None:
    assert "register_variable_stores" in plugin_defined_hooks()


def test_every_hook_has_a_test_implementing_it() -> None:
    implemented = hooks_implemented_in_tests()
    missing = sorted(set(all_hook_specs()) - implemented)
    assert not missing, f"no test implements these hooks: {', '.join(missing)}"


def test_the_entry_point_scanner_agrees_with_importlib_metadata() -> None:
    """What ``_entry_points.scan`` finds on this environment is what the standard library finds."""
    expected = {
        (ep.name, ep.value, normalize(ep.dist.name) if ep.dist else "")
        for ep in importlib.metadata.entry_points(group="snakepit")
    }
    found = {(ep.name, ep.value, normalize(ep.distribution)) for ep in scan("snakepit")}
    assert found == expected
    assert {name for name, _, _ in found} >= {"variables", "tools", "dspy", "example"}
    versions = {normalize(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    assert all(versions[normalize(ep.distribution)] == ep.version for ep in scan("snakepit"))


def test_the_test_scanner_sees_methods_and_async_functions() -> None:
    assert {"host_started", "register_commands", "prepare_tool"} <= hooks_implemented_in_tests()
    assert Path(__file__).parent in TEST_FOLDERS
