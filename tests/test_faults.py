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

import grpc
import pytest
from hostproc import HostProcess, alive, python
from snakepit_variables.testing import ElixirVariablesStandIn, watch_updates

from snakepit_host import hookimpl
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import running_host, wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

STANDIN_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from snakepit_variables.testing import ElixirVariablesStandIn

    printing = threading.Lock()

    class Logged(ElixirVariablesStandIn):
        def _record(self, method, request):
            super()._record(method, request)
            with printing:  # print() writes its pieces one by one: lines of two threads would mix
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
    """The Elixir stand-in in a child process: start, SIGKILL, start again on the same port.

    The stand-in prints each request before answering it; a reader thread
    collects the lines, so a test waits (``wait_until``) for a request it
    expects rather than asserting at once, and a killed process's lines are
    all read before they are cleared.
    """

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.requests: list[tuple[str, str]] = []
        self._ready: queue.Queue[int] = queue.Queue()
        self._reader: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [python(), "-c", STANDIN_SCRIPT, str(self.port)], stdout=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()
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
        assert self.process is not None and self._reader is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._reader.join(10)  # every line the dead process wrote is read: none lands after the clear
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
        # As Snakepit 0.13 does for the worker's session: an initialised session is announced at once.
        client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session), timeout=10)
        assert client.call("split_bill", bill, session_id=session)["shares"] == ["5.00", "5.00"]
        wait_until(lambda: elixir.seen("RegisterTools", session), "this worker's tools announced to Elixir")
        client.call("register_variable", {"name": "x", "type": "float", "value": 1.0}, session_id=session)
        assert running.host.status["variables"]["store"] == "elixir"
        wait_until(lambda: elixir.seen("RegisterVariable", session), "the stand-in's line for RegisterVariable")

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
        needs_elixir: list[tuple[str, dict[str, Any]]] = [
            ("slow_add", {"a": 1, "b": 2}),
            ("set_variable", {"name": "x", "value": 2.0}),
        ]
        for name, params in needs_elixir:
            down = failure(client, name, params, session)
            assert down.metadata["error_status"] == "UNAVAILABLE", down.message
            assert f"Elixir at {elixir.address} is unreachable" in down.message
        assert client.call("split_bill", bill, session_id=session)["shares"] == ["5.00", "5.00"]
        assert client.call("echo", {"still": "here"}, session_id="s2") == {"still": "here"}

        elixir.start()  # same port, empty state: an Elixir restart
        wait_until(lambda: _succeeds(client, "slow_add", {"a": 2, "b": 3}, session) == 5, "calls to recover", 30)
        wait_until(lambda: elixir.seen("RegisterTools", session), "tools announced again after the restart")
        wait_until(lambda: elixir.seen("InitializeSession", session), "the session initialised again")
        # Elixir forgot the session's variables; the store re-initialises the session and carries on.
        client.call("register_variable", {"name": "x", "type": "float", "value": 3.0}, session_id=session)
        assert client.call("set_variable", {"name": "x", "value": 4.0}, session_id=session)["version"] == 1
        assert client.call("get_variable", {"name": "x"}, session_id=session)["value"] == 4.0
        wait_until(lambda: elixir.seen("RegisterVariable", session), "RegisterVariable on the new Elixir")
        wait_until(lambda: elixir.seen("SetVariable", session), "SetVariable on the new Elixir")
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
            self.proceed.wait(30)
            self.proceed.clear()
            yield {"index": index, "session_object": id(ctx.session), "closed": ctx.session.closed}
        self.proceed.wait(30)  # the stream stays open until the test lets it end

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

        # A stream the client abandons releases its session at once, although its generator is
        # blocked (waiting for `proceed`) and cannot be closed before it yields again.
        abandoned = client.stream("trickle", {"items": 100}, session_id="abandoned")
        plugin.proceed.set()
        next(abandoned)
        abandoned.close()
        wait_until(lambda: ("abandoned", "expired") in plugin.closed, "the abandoned stream's session to expire")
        assert client.ping().startswith("Pong")
        plugin.proceed.set()  # now the generator yields, finds nobody listening, and is closed


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


def host_with_adapter(folder: Path, adapter: str) -> HostProcess:
    """A host subprocess with ``adapter`` (``module:Class`` of a module file in ``folder``) as a plugin."""
    env = {"PYTHONPATH": f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return HostProcess([python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", adapter], env)


def test_plugin_raising_in_host_stopping_does_not_block_shutdown(raising_plugin: Path) -> None:
    host = host_with_adapter(raising_plugin.parent, "raising_plugin:Plugin")
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


# ---------------------------------------------------------------- issue 13 item 7: sixteen threads


class Stuck:
    """A command that holds its thread until the test lets it go, deaf to cancellation (as sync code can be)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.running = 0
        self._lock = threading.Lock()

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("stuck", self.stuck)

    def stuck(self, ctx: Any, params: dict[str, Any]) -> str:
        with self._lock:
            self.running += 1
        self.release.wait(60)
        with self._lock:
            self.running -= 1
        return "released"


def _give_up_after(client: SnakepitClient, name: str, seconds: float) -> threading.Thread:
    """Call ``name`` with a deadline of ``seconds`` in a thread; the caller gives up (DEADLINE_EXCEEDED)."""

    def call() -> None:
        with pytest.raises(grpc.RpcError) as caught:
            client.call(name, {}, timeout=seconds)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def _liveness_answered(client: SnakepitClient) -> None:
    """Ping, Heartbeat and the health check, each within 5 s: what Snakepit and orchestrators watch."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    assert client.stub.Ping(pb.PingRequest(message="alive?"), timeout=5).message.endswith("alive?")
    assert client.stub.Heartbeat(pb.HeartbeatRequest(session_id="w"), timeout=5).session_valid
    health = health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def _refusal(call: Any) -> Any:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    return error.details()


def _answers(client: SnakepitClient) -> bool:
    try:
        return bool(client.call("echo", {"n": 1}, timeout=2) == {"n": 1})
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
        return False


def test_sixteen_streams_and_sixteen_abandoned_calls_leave_ping_heartbeat_and_health_answered() -> None:
    stuck = Stuck()
    with running_host(stuck, entry_points=True) as running:  # the defaults: 16 calls, 64 streams
        client = running.client()
        client.call("register_variable", {"name": "x", "type": "integer", "value": 0}, session_id="w")
        watches = [watch_updates(client.stub, "w", ["x"], include_initial=True) for _ in range(16)]
        for _, updates in watches:
            assert updates.get(timeout=10).variable.name == "x"  # each watch is open on the host
        callers = [_give_up_after(client, "stuck", 0.5) for _ in range(16)]
        wait_until(lambda: stuck.running == 16, "16 handlers holding every call thread")
        for caller in callers:
            caller.join(10)  # their callers gave up; the handlers still run

        _liveness_answered(client)
        details = _refusal(lambda: client.call("echo", {"n": 1}, timeout=5))
        assert details.startswith("16 calls are running already") and "--max-workers" in details

        stuck.release.set()
        wait_until(lambda: _answers(client), "calls admitted again once the handlers returned")
        client.call("set_variable", {"name": "x", "value": 1}, session_id="w")
        for stream, updates in watches:  # the streams kept working all along
            assert updates.get(timeout=10).variable.version == 1
            stream.cancel()


def test_streams_beyond_the_cap_are_refused_and_a_closed_one_makes_room() -> None:
    with running_host(entry_points=True, max_streams=2) as running:
        client = running.client()
        client.call("register_variable", {"name": "x", "type": "integer", "value": 0}, session_id="w")
        first, updates = watch_updates(client.stub, "w", ["x"], include_initial=True)
        second, more = watch_updates(client.stub, "w", ["x"], include_initial=True)
        assert updates.get(timeout=10) and more.get(timeout=10)
        request = pb.WatchVariablesRequest(session_id="w", variable_identifiers=["x"], include_initial_values=True)
        details = _refusal(lambda: next(client.stub.WatchVariables(request, timeout=5)))
        assert details.startswith("2 streams are open already") and "--max-streams" in details
        _refusal(lambda: list(client.stream("payment_schedule", {"amount": "10.00", "months": 2})))
        _liveness_answered(client)
        assert client.call("echo", {"n": 1}) == {"n": 1}  # calls have their own threads

        first.cancel()
        wait_until(lambda: _opens(client, request), "room for a new stream once one closed")
        second.cancel()


def _opens(client: SnakepitClient, request: pb.WatchVariablesRequest) -> bool:
    stream = client.stub.WatchVariables(request, timeout=5)
    try:
        return bool(next(stream).variable.name)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
        return False
    finally:
        stream.cancel()


class SlowElixir(ElixirVariablesStandIn):
    """Elixir's variable store, answering GetVariable only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = threading.Event()
        self.release = threading.Event()
        self.held = 0

    def GetVariable(self, request: pb.GetVariableRequest, context: grpc.ServicerContext) -> pb.GetVariableResponse:
        if self.slow.is_set():
            self.held += 1
            self.release.wait(30)
        return super().GetVariable(request, context)


def test_calls_waiting_on_a_slow_elixir_give_their_threads_back_at_their_callers_deadline() -> None:
    elixir = SlowElixir()
    elixir.start()
    try:
        with running_host(entry_points=True, elixir_address=elixir.address, max_workers=2) as running:
            client = running.client()
            client.call("register_variable", {"name": "x", "type": "integer", "value": 1}, session_id="w")
            assert running.host.status["variables"]["store"] == "elixir"
            elixir.slow.set()
            request = pb.GetVariableRequest(session_id="w", variable_identifier="x", bypass_cache=True)
            callers = [_rpc_gives_up(client.stub.GetVariable, request, 0.5) for _ in range(2)]
            wait_until(lambda: elixir.held == 2, "both calls waiting on Elixir")
            _liveness_answered(client)
            for caller in callers:
                caller.join(10)
            # Elixir still holds both requests; the host stopped waiting at its callers' deadline.
            wait_until(lambda: _answers(client), "the calls' threads given back", timeout=5)
    finally:
        elixir.release.set()
        elixir.stop()


def _rpc_gives_up(method: Any, request: Any, seconds: float) -> threading.Thread:
    def call() -> None:
        with pytest.raises(grpc.RpcError) as caught:
            method(request, timeout=seconds)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    thread = threading.Thread(target=call)
    thread.start()
    return thread


# ---------------------------------------------------------------- issue 13 item 13: leaks


def test_sessions_closed_on_the_host_are_forgotten_by_its_elixir_client(elixir_standin: ElixirStandIn) -> None:
    with running_host(entry_points=True, elixir_address=elixir_standin.address) as running:
        client = running.client()
        sessions = [f"s{n}" for n in range(20)]
        for session in sessions:  # initialised, as Snakepit does: tools are announced to Elixir in each
            assert client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session), timeout=5).success
        wait_until(lambda: running.host.status["tools"]["announced_sessions"] == 20, "20 sessions announced")
        elixir = running.host.elixir
        assert elixir is not None and set(sessions) <= elixir._sessions.keys()
        for session in sessions:
            assert client.stub.CleanupSession(pb.CleanupSessionRequest(session_id=session), timeout=5).success
        assert not elixir._sessions.keys() & set(sessions)
        # The same id again is a new session; once it reaches Elixir it is initialised there again.
        client.stub.InitializeSession(pb.InitializeSessionRequest(session_id="s0"), timeout=5)
        wait_until(lambda: len(elixir_standin.calls("InitializeSession")) == 21, "s0 initialised on Elixir again")


def test_an_elixir_that_forgot_a_session_before_the_host_heard_of_it(elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("add", lambda p: p["a"] + p["b"], parameters=[("a", "integer"), ("b", "integer")])
    with running_host(entry_points=True, elixir_address=elixir_standin.address) as running:
        client = running.client()
        assert client.call("add", {"a": 1, "b": 2}, session_id="s") == 3
        wait_until(lambda: running.host.status["tools"]["announced_sessions"] == 1, "the first announcement")
        with elixir_standin.lock:  # a restart as a call sees it before the host's channel notices (or ever does)
            elixir_standin.sessions.clear()
            elixir_standin.registered_tools.clear()
        assert client.call("add", {"a": 2, "b": 3}, session_id="s") == 5
        wait_until(
            lambda: ("s", "split_bill") in elixir_standin.registered_tools, "this worker's tools announced again"
        )
        assert running.host.status["tools"]["reconnects"] == 1


SLOW_START_PLUGIN = textwrap.dedent(
    """
    import pathlib, sys, time

    pathlib.Path(sys.argv[-1]).touch()  # the host is loading its plugins...
    time.sleep(1.0)  # ...slowly, and its parent dies meanwhile

    class Plugin:
        pass
    """
)

PARENT_CODE = textwrap.dedent(
    """
    import os, pathlib, subprocess, sys, time
    marker = pathlib.Path(sys.argv[1]) / "loading"
    argv = [sys.executable, "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "slow_start:Plugin",
            "--marker", str(marker)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(child.pid, flush=True)
    while not marker.exists():
        time.sleep(0.01)
    os._exit(0)
    """
)


def test_a_parent_that_dies_while_the_host_starts_leaves_no_worker_behind(tmp_path: Path) -> None:
    (tmp_path / "slow_start.py").write_text(SLOW_START_PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.run(
        [python(), "-c", PARENT_CODE, str(tmp_path)], capture_output=True, text=True, check=True, timeout=30, env=env
    )
    child = int(parent.stdout)
    try:
        wait_until(lambda: not alive(child), "the orphaned host to exit", timeout=15)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


# ---------------------------------------------------------------- issue 13 item 14: SIGTERM within Snakepit's grace

NAPPING_PLUGIN = textwrap.dedent(
    """
    import logging, time
    from snakepit_host import hookimpl

    class Plugin:
        @hookimpl
        def register_commands(self, register):
            register.command("nap", self.nap)

        def nap(self, ctx, params):
            logging.getLogger("napping_plugin").info("a nap begins")
            time.sleep(float(params["seconds"]))  # deaf to cancellation
            return "rested"
    """
)


def test_sigterm_with_calls_that_outlast_the_grace_period_exits_within_snakepits_2_s(tmp_path: Path) -> None:
    (tmp_path / "napping_plugin.py").write_text(NAPPING_PLUGIN)
    host = host_with_adapter(tmp_path, "napping_plugin:Plugin")
    try:
        port = host.wait_ready()
        with SnakepitClient(f"127.0.0.1:{port}") as client:
            for _ in range(4):
                threading.Thread(target=_quietly, args=(client, "nap", {"seconds": 30}), daemon=True).start()
            wait_until(lambda: host.stderr.count("a nap begins") == 4, "4 calls in flight")
            started = time.monotonic()
            host.process.send_signal(signal.SIGTERM)
            assert host.wait(10) == 0
            assert time.monotonic() - started < 2.0, "Snakepit 0.4.1 kills a worker 2 s after SIGTERM"
    finally:
        if host.process.poll() is None:
            host.process.kill()
    assert "exiting at the end of the grace period with 4 call(s) and 0 stream(s) still running" in host.stderr


def _quietly(client: SnakepitClient, name: str, params: dict[str, Any]) -> None:
    try:
        client.call(name, params)
    except grpc.RpcError:
        pass  # the host went away under the call: what this test does to it
