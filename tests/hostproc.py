"""Host subprocesses for tests: start one as Snakepit would, read its readiness, stop it."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRPC_SERVER = ROOT / "snakepit_host" / "grpc_server.py"


class HostProcess:
    """A host started as a real subprocess, the way Snakepit starts one."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, **popen: Any) -> None:
        # Hermetic: SNAKEPIT_* settings of the shell running the tests do not leak in; the
        # discovery cache stays in the test session's folder (see snakepit_host.testing).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_") or k == "SNAKEPIT_CACHE_DIR"}
        full_env = {**inherited, "SNAKEPIT_LOG_LEVEL": "info", **(env or {})}
        self.argv = argv
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True, **popen
        )
        self.port: int | None = None
        self.stdout_lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._collect_stderr, daemon=True).start()

    @staticmethod
    def _pump(stream: Any, sink: queue.Queue[str | None]) -> None:
        for line in stream:
            sink.put(line)
        sink.put(None)

    def _collect_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def wait_ready(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.stdout_lines.append(line)
            if line.startswith("GRPC_READY:"):
                self.port = int(line.strip().split(":", 1)[1])
                return self.port
        raise AssertionError(f"host not ready (exit {self.process.poll()}); stderr:\n{self.stderr}")

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait(self, timeout: float = 10.0) -> int:
        code = self.process.wait(timeout)
        time.sleep(0.05)  # let the pump threads drain
        return code

    def rest_of_stdout(self) -> list[str]:
        while True:
            try:
                line = self._lines.get(timeout=1.0)
            except queue.Empty:
                return self.stdout_lines
            if line is None:
                return self.stdout_lines
            self.stdout_lines.append(line)


@contextmanager
def host_processes() -> Iterator[Callable[..., HostProcess]]:
    """Start host subprocesses; any still running at teardown are killed."""
    started: list[HostProcess] = []

    def spawn(argv: list[str], env: dict[str, str] | None = None, **popen: Any) -> HostProcess:
        process = HostProcess(argv, env, **popen)
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for host in started:
            if host.process.poll() is None:
                host.process.kill()
                host.process.wait(5)


def snakepit_argv(
    server: str | Path,
    adapter: str,
    port: int | str,
    *,
    elixir_address: str = "localhost:50051",
    run_id: str = "1732000000123456_424242",
) -> list[str]:
    """Snakepit's worker command line after the interpreter, as 0.4.1 builds it (PROTOCOL.md §1).

    0.13 adds flags around these; a test appends or inserts them.
    """
    return [
        str(server),
        *("--adapter", adapter, "--port", str(port)),
        *("--elixir-address", elixir_address, "--snakepit-run-id", run_id),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python() -> str:
    return sys.executable


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
