"""The host's modules import each other without a circle, type-only imports included.

Every ``import`` statement of every module under ``snakepit_host/`` counts:
module level, inside functions, and under ``if TYPE_CHECKING:``. An edge
goes to the module an import names (``from snakepit_host import codec`` to
``snakepit_host.codec``; ``from snakepit_host import __version__`` to the
package itself), not to its parent packages, which Python imports first
anyway. The generated protocol modules are left out: they import only grpc
and protobuf.
"""

from __future__ import annotations

import ast
from pathlib import Path

import snakepit_host

PACKAGE = "snakepit_host"
ROOT = Path(snakepit_host.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def host_modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py") if not p.name.endswith(("_pb2.py", "_pb2_grpc.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {target for target in found if target in known and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = host_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_host_has_no_import_circle() -> None:
    graph = import_graph()
    assert len(graph) > 20 and f"{PACKAGE}._host" in graph[f"{PACKAGE}.cli"] | graph[f"{PACKAGE}.testing"]
    circles = cycles(graph)
    assert not circles, "modules that import each other in a circle: " + "; ".join(" <-> ".join(c) for c in circles)


def test_type_only_and_function_level_imports_count() -> None:
    graph = import_graph()
    # hookspecs imports the host protocol only under TYPE_CHECKING.
    assert f"{PACKAGE}._host_api" in graph[f"{PACKAGE}.hookspecs"]
    assert f"{PACKAGE}._provider_hints" in graph[f"{PACKAGE}._host"]  # imported inside a method


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
