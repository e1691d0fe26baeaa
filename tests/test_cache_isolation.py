"""The test suite keeps the host's discovery cache out of the user's home (snakepit_host.testing sets it up)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hostproc import HostProcess, python
from plugin_packages import run_cli

from snakepit_host import _entry_points
from snakepit_host.testing import running_host


def test_the_session_has_its_own_cache_folder() -> None:
    folder = Path(os.environ["SNAKEPIT_CACHE_DIR"])
    assert folder.is_dir()
    assert folder != Path.home() / ".cache" / "snakepit-host"
    assert Path(str(_entry_points._cache_file("snakepit"))).parent == folder


def test_hosts_started_by_tests_write_nothing_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spawn_host: Callable[..., HostProcess]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # where ~/.cache would be
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for cached in Path(os.environ["SNAKEPIT_CACHE_DIR"]).iterdir():
        cached.unlink()  # every host below must scan, and so write its cache
    # In this process, as a subprocess started as Snakepit does, and through the CLI.
    with running_host(entry_points=True):
        pass
    host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0"])
    host.wait_ready()
    host.process.terminate()
    assert host.process.wait(30) == 0
    assert run_cli(["plugins", "--json"], dict(os.environ)).returncode == 0
    assert list(home.rglob("*")) == []
    assert list(Path(os.environ["SNAKEPIT_CACHE_DIR"]).glob("entry-points-snakepit-*.json"))
