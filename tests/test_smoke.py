"""The README's quick start, in a test: serve standalone and call echo."""

from __future__ import annotations

import signal
from collections.abc import Callable

from hostproc import HostProcess, python

from snakepit_host.host_client import SnakepitClient


def test_serve_standalone_and_call(spawn_host: Callable[..., HostProcess]) -> None:
    host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0"])
    port = host.wait_ready()
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        assert client.call("echo", {"a": [1, 2, {"b": None}]}) == {"a": [1, 2, {"b": None}]}
    host.process.send_signal(signal.SIGINT)
    assert host.wait() == 0
