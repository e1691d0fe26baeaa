"""A real install of the distribution, found through its entry point; its entry module imports only the host."""

from __future__ import annotations

from pathlib import Path

from plugin_packages import install_alone, python_lines

DISTRIBUTION = Path(__file__).resolve().parents[1]
STAND_IN = DISTRIBUTION / "tests" / "data" / "snakepit_v013" / "priv" / "python"


def test_pip_install_and_entry_point_discovery(tmp_path: Path) -> None:
    adapter = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
    site, env, records = install_alone(DISTRIBUTION, tmp_path, "--adapter", adapter, path=(STAND_IN,))
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
    where, loaded = python_lines(probe, env, tmp_path)
    assert where.startswith(str(site))
    assert loaded == "['snakepit_adapters.plugin']", "the machinery loads only when an adapter is served"
