"""A real install of the distribution, found through its entry point by the host's CLI."""

from __future__ import annotations

from pathlib import Path

from plugin_packages import install_alone, python_lines

DISTRIBUTION = Path(__file__).resolve().parents[1]


def test_pip_install_and_entry_point_discovery(tmp_path: Path) -> None:
    site, env, plugins = install_alone(DISTRIBUTION, tmp_path)
    record = plugins["otel"]
    assert record["status"] == "loaded", record
    assert (record["distribution"], record["version"], record["module"]) == (
        "snakepit-otel",
        "0.1.0",
        "snakepit_otel.plugin",
    )
    assert record["provides"] == {"call_observers": ["tracing"]}
    assert record["hooks"] == ["host_stopping", "register_call_observers", "register_options"]

    probe = (
        "import sys, snakepit_otel.plugin as p; "
        "print(p.__file__); print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    where, heavy = python_lines(probe, env, tmp_path)
    assert where.startswith(str(site))
    assert heavy == "[]"  # the entry module imports only the host: OpenTelemetry loads when --otel is on
