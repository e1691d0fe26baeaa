"""A real ``redis-server`` for tests of the redis store (this plugin's and others').

:class:`RedisServer` starts Debian's ``redis-server`` on 127.0.0.1 with a
free port and its own directory, with the append-only file synced on every
write (so a server killed and started again has every acknowledged write),
and can kill, stop and restart it on the same port. ``scripts/setup``
installs ``redis-server`` where it is missing (``scripts/ensure-redis``);
when it cannot be found, :func:`redis_server_binary` raises with that
advice, and the :func:`redis_server` fixture fails rather than skips::

    from snakepit_variables.redis_testing import redis_server  # a fixture, in conftest.py

    def test_x(redis_server):
        running_host(plugin, options={"variables_store": "redis", "variables_redis_url": redis_server.url})
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 15.0


class RedisUnavailable(RuntimeError):
    """No redis-server binary, or it did not start."""


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(p).exists()), None
    )
    if found is None:
        raise RedisUnavailable(
            "redis-server is not installed: run scripts/ensure-redis (as root it runs apt-get install redis-server), "
            "or install Redis another way; the redis store's tests need a real server"
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1, its data in ``directory``."""

    def __init__(self, directory: Path, port: int | None = None, *, fsync: str = "always") -> None:
        self.directory = directory
        self.port = port or free_port()
        self.fsync = fsync
        """``appendfsync``: ``always`` (every acknowledged write survives a kill) or ``everysec``."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        argv += ["--appendonly", "yes", "--appendfsync", self.fsync, "--save", "", "--daemonize", "no"]
        argv += ["--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.02)
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:] if self.directory.exists() else ""
        self.kill()
        raise RedisUnavailable(f"redis-server did not start on port {self.port}:\n{log}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, as after a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> RedisServer:
        self.kill()
        return self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the test session (tests keep apart by key prefix); fails, never skips, without one."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except RedisUnavailable as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()
