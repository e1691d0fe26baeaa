"""Shared helpers for the host's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class HostProcess:
    """A host started as a real subprocess, as Snakepit would start it."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, script: str | None = None) -> None:
        command = [sys.executable, script] if script else [sys.executable, "-m", "snakepit_host"]
        full_env = {**os.environ, **(env or {})}
        full_env.setdefault("SNAKEPIT_LOG_LEVEL", "info")
        self.process = subprocess.Popen(
            command + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True
        )
        self.port: int | None = None

    def wait_ready(self, timeout: float = 20.0) -> int:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("GRPC_READY:"):
                self.port = int(line.split(":", 1)[1])
                return self.port
            if not line and self.process.poll() is not None:
                break
        raise AssertionError(f"host not ready; stderr:\n{self.stderr()}")

    def stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)


@pytest.fixture
def host_process() -> Iterator[type[HostProcess]]:
    started: list[HostProcess] = []

    class Tracked(HostProcess):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Tracked
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(5)
