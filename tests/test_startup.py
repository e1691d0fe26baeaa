"""A worker's start (issue 18): its timeline, nothing on the network before readiness, the collector after it."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hostproc import GRPC_SERVER, HostProcess, python

from snakepit_host import _startup
from snakepit_host.host_client import SnakepitClient
from snakepit_host.testing import wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

Spawn = Callable[..., HostProcess]
PHASES = [
    "python",
    "imports",
    "plugins loaded",
    "options",
    "registration",
    "server bound",
    "server started",
    "host_started hooks",
    "ready",
]


class StampedStandIn(ElixirStandIn):
    """The Elixir stand-in, noting when each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []

    def _record(self, method: str, request: Any) -> None:
        super()._record(method, request)
        with self.lock:
            self.arrivals.append((time.time(), method))


@pytest.fixture
def stamped() -> Any:
    standin = StampedStandIn()
    standin.start()
    yield standin
    standin.stop()


def test_served_host_describes_its_start_up_timeline(spawn_host: Spawn) -> None:
    spawned = time.time()
    host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0"])
    port = host.wait_ready()
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        startup = client.call("describe")["host"]["startup"]
    phases = startup["phases"]
    assert [p["phase"] for p in phases] == PHASES
    stamps = [p["at"] for p in phases]
    assert spawned <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= time.time()
    cpu = [p["cpu"] for p in phases]
    assert cpu == sorted(cpu) and cpu[0] > 0
    plugins = {p["name"]: p for p in startup["plugins"]}
    assert {"core", "variables", "tools", "dspy", "example"} <= set(plugins)
    assert all(0 <= p["registration_ms"] <= p["load_ms"] for p in plugins.values())
    assert startup["discovery_ms"] >= 0


def test_nothing_reaches_elixir_before_the_worker_is_ready(spawn_host: Spawn, stamped: StampedStandIn) -> None:
    """Launched as Snakepit 0.13 launches it, heartbeats and all: Elixir hears from it only once it is ready."""
    env = {
        "SNAKEPIT_HEARTBEAT_CONFIG": json.dumps({"enabled": True, "interval_ms": 100, "dependent": True}),
        "SNAKEPIT_LOG_LEVEL": "error",
    }
    argv = [python(), str(GRPC_SERVER), "--port", "0", "--elixir-address", stamped.address]
    host = spawn_host([*argv, "--snakepit-run-id", "k3x9a2p"], env)
    port = host.wait_ready()
    wait_until(lambda: stamped.calls("Heartbeat"), "the first heartbeat")
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        described = client.call("describe")
    ready = next(p["at"] for p in described["host"]["startup"]["phases"] if p["phase"] == "ready")
    assert stamped.arrivals and all(at >= ready for at, _ in stamped.arrivals), stamped.arrivals
    assert described["status"]["variables"]["store"] is None  # chosen on the first use of variables, not at start


def test_the_collector_waits_for_readiness_and_then_skips_what_start_up_made() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    _startup.pause_gc()
    try:
        assert not gc.isenabled()
        garbage = [object() for _ in range(1000)]
    finally:
        _startup.resume_gc()
    assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(garbage)
    _startup.resume_gc()  # a second resume (main's way out after serve's) changes nothing
    assert gc.isenabled()
    gc.unfreeze()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        _startup.pause_gc()
        _startup.resume_gc()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_timeline_stays_small_and_ends_at_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most a few dozen stamps whatever a process does, and none after ``ready`` (a test process serving many)."""
    monkeypatch.setattr(_startup, "_phases", [])

    def mark_many() -> None:
        for _ in range(100):
            _startup.mark("x")

    threads = [threading.Thread(target=mark_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_startup.timeline()) == _startup.MAX_PHASES
    monkeypatch.setattr(_startup, "_phases", [])
    _startup.mark("imports")
    _startup.mark("ready")
    _startup.mark("late")
    assert [p["phase"] for p in _startup.timeline()] == ["imports", "ready"]
