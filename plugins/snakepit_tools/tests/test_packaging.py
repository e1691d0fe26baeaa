"""A real install of the distribution, found through its entry point by the host's CLI."""

from __future__ import annotations

from pathlib import Path

from plugin_packages import install_alone, python_lines

DISTRIBUTION = Path(__file__).resolve().parents[1]


def test_pip_install_and_entry_point_discovery(tmp_path: Path) -> None:
    site, env, plugins = install_alone(DISTRIBUTION, tmp_path)
    record = plugins["tools"]
    assert record["status"] == "loaded", record
    assert (record["distribution"], record["version"], record["module"]) == (
        "snakepit-tools",
        "0.1.0",
        "snakepit_tools.plugin",
    )
    assert record["provides"]["commands"] == ["call_elixir_tool", "describe_tool", "list_tools"]
    assert record["provides"]["session_attributes"] == ["tools"]
    assert "resolve_command" in record["hooks"] and "prepare_tool" not in record["hooks"]  # the host prepares tools

    probe = (
        "import sys, snakepit_tools.plugin as p; "
        "print(p.__file__); print(sorted(m for m in ('jsonschema', 'numpy', 'pydantic') if m in sys.modules))"
    )
    where, heavy = python_lines(probe, env, tmp_path)
    assert where.startswith(str(site))
    assert heavy == "[]"  # the entry module imports only the host and light stdlib
