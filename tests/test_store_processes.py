"""Two real host processes on one sqlite file or one Redis server, as the workers of a Snakepit pool."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from hostproc import GRPC_SERVER, HostProcess, python
from snakepit_variables.testing import VariableRpcs, typed, watch_updates

from snakepit_host.host_client import SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb

Spawn = Callable[..., HostProcess]
SESSION = "pool-session"
THREADS = 8
INCREMENTS = 12
TIMEOUT = 15.0


@pytest.fixture(params=["sqlite", "redis"])
def store_argv(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "sqlite":
        return ["--variables-store", "sqlite", "--variables-sqlite-path", str(tmp_path / "pool.sqlite3")]
    server = request.getfixturevalue("redis_server")
    return [
        "--variables-store",
        "redis",
        "--variables-redis-url",
        server.url,
        "--variables-redis-prefix",
        tmp_path.name,
    ]


@pytest.fixture
def pool(spawn_host: Spawn, store_argv: list[str]) -> Iterator[Callable[[], tuple[HostProcess, SnakepitClient]]]:
    """Start workers on one store, each a real process, as Snakepit would (same run id)."""
    clients: list[SnakepitClient] = []

    def worker() -> tuple[HostProcess, SnakepitClient]:
        argv = [python(), str(GRPC_SERVER), "--port", "0", "--snakepit-run-id", "t1", *store_argv]
        process = spawn_host(argv, {"SNAKEPIT_PLUGINS": "variables"})
        client = SnakepitClient(f"127.0.0.1:{process.wait_ready()}")
        clients.append(client)
        return process, client

    yield worker
    for client in clients:
        client.close()


def _rpcs(client: SnakepitClient) -> VariableRpcs:
    return VariableRpcs(client.stub, SESSION)


def test_a_write_in_one_worker_is_read_and_watched_in_the_other(pool: Any) -> None:
    (_, first), (_, second) = pool(), pool()
    _rpcs(first).register("temperature", "float", 0.5)
    assert _rpcs(second).value("temperature") == 0.5
    stream, updates = watch_updates(second.stub, SESSION, ["temperature"], include_initial=True)
    assert updates.get(timeout=TIMEOUT).update_type == "initial_value"
    for step in range(1, 11):
        _rpcs(first).set("temperature", step / 10)
    seen = [updates.get(timeout=TIMEOUT) for _ in range(10)]
    stream.cancel()
    assert [(u.variable.version, json.loads(u.variable.value.value)) for u in seen] == [
        (step, step / 10) for step in range(1, 11)
    ]
    status = second.call("describe", {})["status"]["variables"]
    assert status["store"] in ("sqlite", "redis") and status["location"]


def test_eight_threads_in_each_of_two_workers_lose_no_update(pool: Any) -> None:
    workers = [pool()[1], pool()[1]]
    _rpcs(workers[0]).register("counter", "integer", 0)
    acknowledged: list[int] = []
    failures: list[BaseException] = []

    def increment(client: SnakepitClient) -> None:
        rpcs = _rpcs(client)
        try:
            for _ in range(INCREMENTS):
                while True:
                    current = rpcs.get("counter")
                    request = pb.SetVariableRequest(
                        session_id=SESSION,
                        variable_identifier="counter",
                        value=typed("integer", json.loads(current.value.value) + 1),
                        metadata={"expected_version": str(current.version)},
                    )
                    try:
                        acknowledged.append(client.stub.SetVariable(request, timeout=30).new_version)
                        break
                    except grpc.RpcError as exc:
                        assert exc.code() == grpc.StatusCode.ABORTED, exc.details()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=increment, args=(workers[n % 2],)) for n in range(2 * THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    total = 2 * THREADS * INCREMENTS
    assert sorted(acknowledged) == list(range(1, total + 1)), "each version acknowledged exactly once"
    for client in workers:
        final = _rpcs(client).get("counter")
        assert (final.version, json.loads(final.value.value)) == (total, total)


def test_kill_9_of_a_worker_mid_stream_loses_no_acknowledged_write(pool: Any) -> None:
    (victim_process, victim), (_, survivor) = pool(), pool()
    _rpcs(victim).register("seq", "integer", 0)
    acknowledged: list[int] = []
    stopped = threading.Event()

    def write() -> None:
        rpcs = _rpcs(victim)
        value = 0
        while not stopped.is_set():
            value += 1
            try:
                assert rpcs.set("seq", value, "integer") == value
            except grpc.RpcError:
                return  # the worker is gone; this write was not acknowledged
            acknowledged.append(value)

    writer = threading.Thread(target=write)
    writer.start()
    while len(acknowledged) < 100:
        threading.Event().wait(0.005)
    os.kill(victim_process.process.pid, signal.SIGKILL)
    victim_process.process.wait(10)
    stopped.set()
    writer.join(TIMEOUT)
    last = acknowledged[-1]
    current = _rpcs(survivor).get("seq")
    assert json.loads(current.value.value) in (last, last + 1), "acknowledged writes survive (one may be unanswered)"
    history = survivor.call("variable_history", {"name": "seq"}, session_id=SESSION)
    assert [entry["version"] for entry in history if entry["version"] <= last][-50:] == list(range(last - 49, last + 1))
