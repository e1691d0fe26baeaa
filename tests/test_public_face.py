"""Plugins reach the host through its public face: ``snakepit_host`` itself, and the ``snakepit_host.testing`` kit.

A plugin that imports ``snakepit_host._registry`` or ``snakepit_host.codec``
depends on the host's layout, which may change in any release; every name it
needs is re-exported by the package (lazily: importing ``snakepit_host``
loads nothing). The first-party plugins and the example are held to that, as
a third party would be; their tests may reach further.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import snakepit_host

ROOT = Path(__file__).resolve().parent.parent


def plugin_sources() -> list[Path]:
    found = [*ROOT.glob("plugins/*/snakepit_*/**/*.py"), *ROOT.glob("examples/*/snakepit_*/**/*.py")]
    return sorted(path for path in found if "tests" not in path.relative_to(ROOT).parts)


def host_imports(path: Path) -> set[str]:
    """The host modules ``path``'s import statements name (module level, in functions, under TYPE_CHECKING).

    The module a statement names, not what it binds: ``from snakepit_host import codec`` names the
    package (its re-export), ``from snakepit_host.codec import x`` the submodule. That is not
    tests/test_import_graph.py's question (which module an import loads), so it is not its scanner.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return {name for name in found if name == "snakepit_host" or name.startswith("snakepit_host.")}


def is_public(module: str) -> bool:
    return module in ("snakepit_host", "snakepit_host.testing") or module.startswith("snakepit_host.testing.")


def test_plugins_import_only_the_public_face() -> None:
    sources = plugin_sources()
    assert len(sources) > 30
    private = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in host_imports(path)
        if not is_public(module)
    }
    assert not private, "plugin modules importing host internals: " + "; ".join(sorted(private))


def test_the_check_sees_a_submodule_import(tmp_path: Path) -> None:
    module = tmp_path / "plugin.py"
    module.write_text(
        "from snakepit_host import pb\n"
        "def f():\n    from snakepit_host.codec import pack_binary\n"
        "import snakepit_host.testing.elixir_standin\n"
    )
    imports = host_imports(module)
    assert imports == {"snakepit_host", "snakepit_host.codec", "snakepit_host.testing.elixir_standin"}
    assert [name for name in sorted(imports) if not is_public(name)] == ["snakepit_host.codec"]


@pytest.mark.parametrize("name", snakepit_host.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(importlib.import_module("snakepit_host"), name) is not None
