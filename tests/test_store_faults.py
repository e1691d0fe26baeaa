"""Faults of the shared variable stores: Redis unreachable or lost, SQLite corrupt, read-only or out of space.

Each fault gives a clear error naming the store, writes nothing partial,
loses nothing acknowledged, and leaves the host serving its other plugins.
Disk-full and read-only use a real, tiny tmpfs mounted for the test (root
only, as CI runs; elsewhere those two are skipped with the reason).
"""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import snakepit_variables.plugin as variables_plugin
from snakepit_variables import variables_for
from snakepit_variables.model import Variable
from snakepit_variables.redis_testing import RedisServer, free_port
from snakepit_variables.sqlite_store import SQLiteStore
from snakepit_variables.value_types import IntegerType

from snakepit_host import SnakepitError
from snakepit_host.host_client import RemoteError
from snakepit_host.testing import RunningHost, running_host

SESSION = "s1"
MiB = 1024 * 1024


@contextmanager
def host(**options: Any) -> Iterator[RunningHost]:
    with running_host(variables_plugin, options=options) as handle:
        yield handle


def _error(function: Any, *args: Any, **kwargs: Any) -> SnakepitError:
    with pytest.raises(SnakepitError) as raised:
        function(*args, **kwargs)
    return raised.value


def _call_error(running: RunningHost, name: str, params: dict[str, Any]) -> RemoteError:
    with pytest.raises(RemoteError) as raised:
        running.client().call(name, params, session_id=SESSION)
    return raised.value


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: mounting a test tmpfs must work there")
        pytest.skip("needs root to mount a small tmpfs")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_redis_unreachable_at_start_is_shown_and_other_plugins_serve(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with host(variables_store="redis", variables_redis_url=url) as running:
        failure = _call_error(running, "register_variable", {"name": "x", "type": "integer", "value": 1})
        assert failure.metadata["error_status"] == "UNAVAILABLE"
        assert url in str(failure) and "Connection refused" in str(failure)
        described = running.client().call("describe", {})
        status = described["status"]["variables"]
        assert status["store"] is None and url in status["error"] and "Connection refused" in status["error"]
        listed = {p["name"]: p for p in described["plugins"]}["plugin"]  # the kit names it after its module
        assert listed["status"] == "error" and url in listed["error"] and "Connection refused" in listed["error"]
        assert running.client().call("echo", {"still": "serving"}) == {"still": "serving"}
        with RedisServer(tmp_path / "redis", port):
            deadline = time.monotonic() + 10
            while True:  # the store is tried again (at most once a second) and then works
                try:
                    running.client().call(
                        "register_variable", {"name": "x", "type": "integer", "value": 1}, session_id=SESSION
                    )
                    break
                except RemoteError:
                    assert time.monotonic() < deadline, "the store never came back"
                    time.sleep(0.2)
            described = running.client().call("describe", {})
            assert described["status"]["variables"]["store"] == "redis"
            listed = {p["name"]: p for p in described["plugins"]}["plugin"]
            assert (listed["status"], listed["error"]) == ("loaded", None), "back to loaded once the store answers"


def test_redis_lost_mid_run_answers_unavailable_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        with host(variables_store="redis", variables_redis_url=server.url) as running:
            v = variables_for(running.host, SESSION)
            v.register("n", "integer", 0)
            for value in range(1, 21):
                assert v.set("n", value) == value
            server.kill()
            failure = _error(v.set, "n", 21)
            assert failure.status == "UNAVAILABLE" and f"variables store redis at {server.url} is unavailable" in str(
                failure
            )
            assert _error(v.get, "n").status == "UNAVAILABLE"
            assert running.client().call("echo", {"ok": 1}) == {"ok": 1}
            server.start()
            deadline = time.monotonic() + 10
            while True:
                try:
                    current = v.get_variable("n")
                    break
                except SnakepitError:
                    assert time.monotonic() < deadline, "the store never came back"
                    time.sleep(0.1)
            assert (current.version, current.value) == (20, 20), "every acknowledged write is there, nothing more"
            assert v.set("n", 21) == 21
    finally:
        server.stop()


def test_a_corrupt_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "variables.sqlite3"
    path.write_bytes(b"this is not a database, it is text that got here somehow" * 100)
    with host(variables_store="sqlite", variables_sqlite_path=str(path)) as running:
        failure = _call_error(running, "register_variable", {"name": "x", "type": "integer", "value": 1})
        assert failure.metadata["error_status"] == "FAILED_PRECONDITION"
        assert str(path) in str(failure) and "is corrupt" in str(failure)
        assert "is corrupt" in running.client().call("describe", {})["status"]["variables"]["error"]
        assert running.client().call("echo", {"x": 1}) == {"x": 1}
    assert path.read_bytes().startswith(b"this is not a database"), "the file is left as it was"


def test_a_read_only_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "4m") as mount:
        path = mount / "variables.sqlite3"
        writer = SQLiteStore(path, lambda name: IntegerType(), history_limit=10, session_ttl=60)
        writer.create(SESSION, Variable(id="", name="x", type="integer", value=1))
        del writer  # its connection closes: nothing holds the file open for writing
        gc.collect()
        before = path.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        try:
            with host(variables_store="sqlite", variables_sqlite_path=str(path)) as running:
                failure = _call_error(running, "get_variable", {"name": "x"})
                assert failure.metadata["error_status"] == "FAILED_PRECONDITION"
                assert str(path) in str(failure) and "read-only" in str(failure)
                assert running.client().call("echo", {"x": 1}) == {"x": 1}
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        assert path.read_bytes() == before


def test_a_full_disk_refuses_the_write_whole_and_the_file_stays_sound(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "full", "1m") as mount:
        path = mount / "variables.sqlite3"
        with host(variables_store="sqlite", variables_sqlite_path=str(path)) as running:
            v = variables_for(running.host, SESSION)
            v.register("a", "string", "")
            v.register("b", "string", "")
            acknowledged = 0
            with pytest.raises(SnakepitError) as full:
                for n in range(1, 100):
                    v.set_many({"a": str(n % 10) * 60_000, "b": str(n % 10) * 60_000})
                    acknowledged = n
            assert full.value.status == "RESOURCE_EXHAUSTED" and "the disk is full" in str(full.value)
            assert str(path) in str(full.value) and "nothing was written" in str(full.value)
            assert acknowledged > 0
            a, b = v.get_variable("a"), v.get_variable("b")
            assert (a.version, b.version) == (acknowledged, acknowledged), "no half of a batch"
            assert a.value == b.value == str(acknowledged % 10) * 60_000
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
