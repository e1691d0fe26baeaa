"""Faults: Elixir killed mid-call and restarted, sessions expiring around streams, plugins failing in hooks.

The Elixir side runs in its own process (Snakepit's BridgeServer semantics
from ``ElixirVariablesStandIn``, which adds the 0.4.x variable store to the
host's ``ElixirStandIn``), so it can really be SIGKILLed: its sockets close
as the BEAM's would. It prints every request it receives, which is how the
test sees tools re-announced and sessions re-initialised after a restart.
(Parent death, SIGTERM with calls in flight, heartbeat loss, port in use and
handler timeouts are in test_launch.py and test_server.py.)
"""

from __future__ import annotations

import importlib.util
import os
import queue
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostproc import HostProcess, python

from snakepit_host import hookimpl
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import running_host, wait_until

STANDIN_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from snakepit_variables.testing import ElixirVariablesStandIn

    class Logged(ElixirVariablesStandIn):
        def _record(self, method, request):
            super()._record(method, request)
            print(method, getattr(request, "session_id", ""), flush=True)

    def slow_add(params):
        time.sleep(float(params.get("sleep", 0)))
        return params["a"] + params["b"]

    standin = Logged()
    standin.expose_tool("slow_add", slow_add, parameters=[("a", "integer"), ("b", "integer"), ("sleep", "float")])
    standin.start(int(sys.argv[1]))
    print("READY", standin.port, flush=True)
    threading.Event().wait()
    """
)


class ElixirProcess:
    """The Elixir stand-in in a child process: start, SIGKILL, start again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.requests: list[tuple[str, str]] = []
        self._ready: queue.Queue[int] = queue.Queue()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [python(), "-c", STANDIN_SCRIPT, str(self.port)], stdout=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        self.port = self._ready.get(timeout=30)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            method, _, session = line.strip().partition(" ")
            if method == "READY":
                self._ready.put(int(session))
            else:
                self.requests.append((method, session))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.requests.clear()

    def seen(self, method: str, session: str) -> bool:
        return (method, session) in self.requests

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def elixir() -> Iterator[ElixirProcess]:
    standin = ElixirProcess()
    standin.start()
    yield standin
    standin.stop()


def failure(client: SnakepitClient, name: str, params: dict[str, Any], session: str) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        client.call(name, params, session_id=session)
    return caught.value


def test_elixir_killed_mid_call_then_restarted(elixir: ElixirProcess) -> None:
    session = "s1"
    bill = {"total": "10.00", "people": 2}
    with running_host(entry_points=True, elixir_address=elixir.address) as running:
        client = running.client()
        assert client.call("split_bill", bill, session_id=session)["shares"] == ["5.00", "5.00"]
        wait_until(lambda: elixir.seen("RegisterTools", session), "this worker's tools announced to Elixir")
        client.call("register_variable", {"name": "x", "type": "float", "value": 1.0}, session_id=session)
        assert running.host.status["variables"]["store"] == "elixir"
        wait_until(lambda: elixir.seen("RegisterVariable", session), "the variable registered in Elixir")

        outcome: list[Any] = []

        def slow_call() -> None:
            try:
                outcome.append(client.call("slow_add", {"a": 1, "b": 2, "sleep": 30}, session_id=session))
            except RemoteError as exc:
                outcome.append(exc)

        caller = threading.Thread(target=slow_call)
        caller.start()
        wait_until(lambda: elixir.seen("ExecuteElixirTool", session), "the Elixir tool call to arrive")
        elixir.kill()
        caller.join(20)
        assert not caller.is_alive(), "a call to a killed Elixir hung"
        [error] = outcome
        assert isinstance(error, RemoteError) and error.metadata["error_status"] == "UNAVAILABLE", error
        assert f"Elixir at {elixir.address} is unreachable" in error.message

        # While Elixir is down: what needs it fails clearly, the rest keeps working.
        for name, params in [("slow_add", {"a": 1, "b": 2}), ("set_variable", {"name": "x", "value": 2.0})]:
            down = failure(client, name, params, session)
            assert down.metadata["error_status"] == "UNAVAILABLE", down.message
            assert f"Elixir at {elixir.address} is unreachable" in down.message
        assert client.call("split_bill", bill, session_id=session)["shares"] == ["5.00", "5.00"]
        assert client.call("echo", {"still": "here"}, session_id="s2") == {"still": "here"}

        elixir.start()  # same port, empty state: an Elixir restart
        wait_until(lambda: _succeeds(client, "slow_add", {"a": 2, "b": 3}, session) == 5, "calls to recover", 30)
        wait_until(lambda: elixir.seen("RegisterTools", session), "tools announced again after the restart")
        assert elixir.seen("InitializeSession", session)
        # Elixir forgot the session's variables; the store re-initialises the session and carries on.
        client.call("register_variable", {"name": "x", "type": "float", "value": 3.0}, session_id=session)
        assert client.call("set_variable", {"name": "x", "value": 4.0}, session_id=session)["version"] == 1
        assert client.call("get_variable", {"name": "x"}, session_id=session)["value"] == 4.0
        # The stand-in's request log is read from its stdout by a thread: wait for the lines, do not race them.
        wait_until(lambda: elixir.seen("RegisterVariable", session), "the variable registered in Elixir again")
        wait_until(lambda: elixir.seen("SetVariable", session), "the variable written to Elixir")
        assert running.host.status["tools"]["reconnects"] >= 1


def _succeeds(client: SnakepitClient, name: str, params: dict[str, Any], session: str) -> Any:
    try:
        return client.call(name, params, session_id=session)
    except RemoteError as exc:
        assert exc.metadata["error_status"] == "UNAVAILABLE", exc.message
        return None


# ---------------------------------------------------------------- sessions and streams


class Trickle:
    """A streaming command slower than the session TTL, and a record of closed sessions."""

    def __init__(self) -> None:
        self.closed: list[tuple[str, str]] = []
        self.proceed = threading.Event()

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("trickle", self.trickle, streaming=True)

    def trickle(self, ctx: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        marker = ctx.session.state("trickle", dict)
        marker["seen"] = marker.get("seen", 0) + 1
        for index in range(int(params["items"])):
            self.proceed.wait(10)
            self.proceed.clear()
            yield {"index": index, "session_object": id(ctx.session), "closed": ctx.session.closed}
        self.proceed.wait(10)  # the stream stays open until the test lets it end

    @hookimpl
    def session_closed(self, session: Any, reason: str) -> None:
        self.closed.append((session.id, reason))


def test_session_ttl_expiry_while_a_stream_runs() -> None:
    plugin = Trickle()
    with running_host(plugin, session_ttl=0.1) as running:
        client = running.client()
        stream = client.stream("trickle", {"items": 5}, session_id="streaming")
        chunks = []
        for _ in range(5):
            plugin.proceed.set()
            chunks.append(next(stream))
            time.sleep(0.3)  # three TTLs between items: the reaper runs meanwhile
            assert ("streaming", "expired") not in plugin.closed, "the session expired under its stream"
        plugin.proceed.set()
        assert list(stream) == []
        assert [c["index"] for c in chunks] == list(range(5))
        assert len({c["session_object"] for c in chunks}) == 1 and not any(c["closed"] for c in chunks)
        wait_until(lambda: ("streaming", "expired") in plugin.closed, "the idle session to expire after its stream")

        # A stream the client abandons releases its session too.
        abandoned = client.stream("trickle", {"items": 100}, session_id="abandoned")
        plugin.proceed.set()
        next(abandoned)
        abandoned.close()
        plugin.proceed.set()  # let the generator reach its next yield and see the cancellation
        wait_until(lambda: ("abandoned", "expired") in plugin.closed, "the abandoned stream's session to expire")
        assert client.ping().startswith("Pong")


# ---------------------------------------------------------------- plugins failing in lifecycle hooks

RAISING_PLUGIN = textwrap.dedent(
    """
    from snakepit_host import hookimpl

    class Plugin:
        @hookimpl
        def session_created(self, session, host):
            raise RuntimeError("cannot open " + session.id)

        @hookimpl
        def session_closed(self, session, reason, host):
            raise RuntimeError("cannot close " + session.id)

        @hookimpl
        def host_stopping(self, host):
            raise RuntimeError("cannot stop")
    """
)


@pytest.fixture
def raising_plugin(tmp_path: Path) -> Path:
    """A module file whose ``Plugin`` raises in session_created, session_closed and host_stopping."""
    path = tmp_path / "raising_plugin.py"
    path.write_text(RAISING_PLUGIN)
    return path


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Plugin


def test_plugin_raising_in_session_hooks_does_not_break_calls(raising_plugin: Path) -> None:
    with running_host(_load(raising_plugin), session_ttl=0.1) as running:
        client = running.client()
        for session in ("a", "b"):
            assert client.call("echo", {"n": 1}, session_id=session) == {"n": 1}
            assert client.stub.GetSession(pb.GetSessionRequest(session_id=session), timeout=5).session_id == session
        assert client.stub.CleanupSession(pb.CleanupSessionRequest(session_id="a"), timeout=5).success
        assert "a" not in running.host.sessions.ids()
        wait_until(lambda: "b" not in running.host.sessions.ids(), "session b to expire despite the failing hook")
        assert client.call("echo", {"again": True}, session_id="a") == {"again": True}
        errors = running.host.plugins.records["Plugin"].runtime_errors
        assert "session_created failed: RuntimeError: cannot open a" in errors
        assert "session_closed failed: RuntimeError: cannot close b" in errors


def test_plugin_raising_in_host_stopping_does_not_block_shutdown(raising_plugin: Path) -> None:
    env = {"PYTHONPATH": f"{raising_plugin.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "raising_plugin:Plugin"]
    host = HostProcess(argv, env)
    try:
        port = host.wait_ready()
        with SnakepitClient(f"127.0.0.1:{port}") as client:
            assert client.call("echo", {"n": 1}, session_id="s") == {"n": 1}
        host.process.send_signal(signal.SIGTERM)
        assert host.wait(10) == 0
    finally:
        if host.process.poll() is None:
            host.process.kill()
    assert "host_stopping failed: RuntimeError: cannot stop" in host.stderr
    assert "session_closed failed: RuntimeError: cannot close s" in host.stderr
