"""Launched exactly as Snakepit 0.4.1 and 0.13 launch workers (PROTOCOL.md §1).

Each test starts a real host process, waits for its readiness signal, talks
to it over gRPC and stops it with the signal Snakepit uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hostproc import GRPC_SERVER, ROOT, HostProcess, alive, free_port, python, snakepit_argv

from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

Spawn = Callable[..., HostProcess]


@pytest.fixture
def elixir(elixir_standin: ElixirStandIn) -> ElixirStandIn:
    return elixir_standin


@pytest.fixture
def slow_plugin(tmp_path: Path) -> dict[str, str]:
    """A plugin module on PYTHONPATH with a command that takes a while."""
    (tmp_path / "slow_plugin.py").write_text(
        textwrap.dedent(
            """
            import time
            from snakepit_host import hookimpl

            class Plugin:
                @hookimpl
                def register_commands(self, register):
                    register.command("nap", lambda ctx, params: time.sleep(float(params["seconds"])) or "rested")

            class Chatty:
                @hookimpl
                def register_commands(self, register):
                    register.command("chatter", lambda ctx, params: print("a library talking") or "said")

            class StuckOnStop:
                @hookimpl
                def host_stopping(self, host):
                    time.sleep(60)
            """
        )
    )
    return {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_snakepit_041_launch(spawn_host: Spawn) -> None:
    port = free_port()
    argv = ["setsid", python(), *snakepit_argv(GRPC_SERVER, "snakepit_bridge.adapters.enhanced.EnhancedBridge", port)]
    host = spawn_host(argv)
    assert host.wait_ready() == port
    with SnakepitClient(f"localhost:{port}") as client:
        assert client.ping("connection_test").endswith("connection_test")
        request = pb.ExecuteToolRequest(session_id="default_session", tool_name="echo")
        request.parameters["n"].type_url = "type.googleapis.com/snakepit.integer"
        request.parameters["n"].value = b"7"
        response = client.stub.ExecuteTool(request)
        assert response.success and json.loads(response.result.value) == {"n": 7}
        failure = client.stub.ExecuteTool(pb.ExecuteToolRequest(session_id="default_session", tool_name="nope"))
        assert not failure.success and failure.error_message.startswith("unknown command 'nope'")
    started = time.monotonic()
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
    assert time.monotonic() - started < 2.0, "0.4.1 sends SIGKILL 2 s after SIGTERM"
    assert host.rest_of_stdout() == [f"GRPC_READY:{port}\n"], "stdout must carry only the readiness line"
    assert "cannot import adapter snakepit_bridge.adapters.enhanced.EnhancedBridge" in host.stderr, (
        "Snakepit's adapter is served when its priv/python is importable; here it is not, and that is an error"
    )


STAND_IN_PRIV_PYTHON_013 = ROOT / "plugins/snakepit_adapters/tests/data/snakepit_v013/priv/python"
"""A stand-in for Snakepit 0.13's priv/python, which Snakepit puts on the worker's PYTHONPATH."""


def test_snakepit_013_launch(spawn_host: Spawn, elixir: ElixirStandIn, tmp_path: Path) -> None:
    ready_file = tmp_path / "snakepit_ready_default_worker_1_42"
    env = {
        "PYTHONPATH": str(STAND_IN_PRIV_PYTHON_013),
        "SNAKEPIT_READY_FILE": str(ready_file),
        "SNAKEPIT_PROCESS_GROUP": "1",
        "SNAKEPIT_LOG_LEVEL": "error",
        "SNAKEPIT_HEARTBEAT_CONFIG": json.dumps({"enabled": True, "interval_ms": 100, "dependent": True}),
        "GRPC_POLL_STRATEGY": "poll",
        "GRPC_VERBOSITY": "ERROR",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
    }
    adapter = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
    argv = [python(), *snakepit_argv(GRPC_SERVER, adapter, 0, elixir_address=elixir.address, run_id="k3x9a2p")]
    port_flag = argv.index("--port")  # 0.13's order: these after the adapter, before the port
    argv[port_flag:port_flag] = ["--max-workers", "4", "--thread-safety-check"]
    argv += ["--snakepit-instance-name", "inst", "--snakepit-instance-token", "tok"]
    host = spawn_host(argv, env)
    port = host.wait_ready()
    wait_until(ready_file.exists)
    assert ready_file.read_text() == str(port)
    assert os.getpgid(host.process.pid) == host.process.pid, "SNAKEPIT_PROCESS_GROUP=1 must make a group leader"
    with SnakepitClient(f"localhost:{port}") as client:
        client.ping("connection_test")
        worker_session = "session_1_1732000000"
        init = client.stub.InitializeSession(
            pb.InitializeSessionRequest(
                session_id=worker_session,
                metadata={"elixir_node": "nonode@nohost"},
                config=pb.SessionConfig(enable_caching=True, cache_ttl_seconds=60),
            )
        )
        assert init.success
        assert client.stub.Heartbeat(pb.HeartbeatRequest(session_id=worker_session), timeout=10).session_valid
        # Snakepit's default adapter (ShowcaseAdapter) is served, with Snakepit 0.13's encodings (snakepit-adapters).
        assert client.call("echo", {"x": "y"}, session_id=worker_session) == {"echoed": {"x": "y"}}
        assert client.call("describe")["host"]["version"], "the host's own commands are still there"
        with pytest.raises(RemoteError) as raised:
            client.call("nope", session_id=worker_session)
        payload = json.loads(raised.value.message)  # 0.13 parses JSON errors into Snakepit.Error structs
        assert payload["type"] == "AttributeError" and payload["context"]["tool_name"] == "nope"
    wait_until(lambda: len(elixir.calls("Heartbeat")) >= 2)
    assert elixir.calls("Heartbeat")[-1].session_id == worker_session
    os.killpg(host.process.pid, signal.SIGTERM)
    assert host.wait() == 0
    assert host.rest_of_stdout() == [f"GRPC_READY:{port}\n"]
    assert host.stderr == "", "SNAKEPIT_LOG_LEVEL=error: nothing to say on a clean run"


def test_entry_points_console_script_and_module(spawn_host: Spawn) -> None:
    script = Path(sys.executable).with_name("snakepit-host")
    for argv in ([str(script), "serve", "--port", "0"], [python(), "-m", "snakepit_host", "--port", "0"]):
        host = spawn_host(argv)
        port = host.wait_ready()
        with SnakepitClient(f"127.0.0.1:{port}") as client:
            assert client.call("ping")["status"] == "ok"
        host.process.send_signal(signal.SIGTERM)
        assert host.wait() == 0


def test_unknown_flags_are_tolerated(spawn_host: Spawn) -> None:
    host = spawn_host([python(), str(GRPC_SERVER), "--port", "0", "--mode", "threaded", "--future-flag"])
    host.wait_ready()
    host.process.terminate()
    assert host.wait() == 0
    assert "ignoring unknown option(s): --mode threaded --future-flag" in host.stderr


def test_port_in_use_exits_with_a_distinct_code(spawn_host: Spawn) -> None:
    first = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0"])
    port = first.wait_ready()
    second = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", str(port)])
    assert second.wait() == 69
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    first.process.terminate()
    assert first.wait() == 0


def test_health_check_flag(spawn_host: Spawn) -> None:
    host = spawn_host([python(), str(GRPC_SERVER), "--health-check"])
    assert host.wait() == 0
    assert "plugins loaded, 0 failed" in "".join(host.rest_of_stdout())


def test_strict_mode_exit_code(spawn_host: Spawn) -> None:
    host = spawn_host(
        [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "no_such_module.Plugin"],
        {"SNAKEPIT_STRICT_PLUGINS": "1"},
    )
    assert host.wait() == 78
    assert "cannot import adapter no_such_module.Plugin" in host.stderr
    tolerant = spawn_host(
        [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "no_such_module.Plugin"]
    )
    tolerant.wait_ready()
    tolerant.process.terminate()
    assert tolerant.wait() == 0


def test_sigterm_lets_calls_in_flight_finish(spawn_host: Spawn, slow_plugin: dict[str, str]) -> None:
    host = spawn_host(
        [
            python(),
            "-m",
            "snakepit_host",
            "serve",
            "--port",
            "0",
            "--adapter",
            "slow_plugin:Plugin",
            "--shutdown-grace",
            "3",
        ],
        slow_plugin,
    )
    port = host.wait_ready()
    results: list[object] = []
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        call = threading.Thread(target=lambda: results.append(client.call("nap", {"seconds": 0.8})))
        call.start()
        time.sleep(0.2)
        host.process.send_signal(signal.SIGTERM)
        call.join(10)
    assert results == ["rested"]
    assert host.wait() == 0


def test_a_plugin_stuck_in_host_stopping_does_not_keep_the_worker_alive(
    spawn_host: Spawn, slow_plugin: dict[str, str]
) -> None:
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "slow_plugin:StuckOnStop"]
    host = spawn_host([*argv, "--shutdown-grace", "0.5"], slow_plugin)
    host.wait_ready()
    started = time.monotonic()
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
    assert time.monotonic() - started < 2.0, "0.4.1 kills 2 s after SIGTERM"
    assert "host_stopping failed: TimeoutError: did not return within 0.5 s" in host.stderr


def test_stdout_carries_only_the_readiness_line(spawn_host: Spawn, slow_plugin: dict[str, str]) -> None:
    host = spawn_host(
        [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "slow_plugin:Chatty"], slow_plugin
    )
    port = host.wait_ready()
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        assert client.call("chatter") == "said"
    host.process.terminate()
    assert host.wait() == 0
    assert host.rest_of_stdout() == [f"GRPC_READY:{port}\n"]
    assert "a library talking" in host.stderr


def test_exits_when_the_parent_dies(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([{python()!r}, "-m", "snakepit_host", "serve", "--port", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([python(), "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    time.sleep(1.0)  # let the host start and begin watching its parent
    parent.kill()
    parent.wait()
    wait_until(lambda: not alive(child_pid), timeout=4.0)


def test_dependent_heartbeat_loss_stops_the_host(spawn_host: Spawn, elixir: ElixirStandIn) -> None:
    elixir.heartbeat_ok = False
    env = {"SNAKEPIT_HEARTBEAT_CONFIG": json.dumps({"enabled": True, "interval_ms": 50, "max_missed_heartbeats": 3})}
    host = spawn_host([python(), str(GRPC_SERVER), "--port", "0", "--elixir-address", elixir.address], env)
    host.wait_ready()
    assert host.wait(timeout=10) == 0
    assert "lost 3 heartbeats to Elixir" in host.stderr


def test_install_launcher_runs_this_host_in_place_of_snakepits_server(spawn_host: Spawn, tmp_path: Path) -> None:
    result = subprocess.run(
        [python(), "-m", "snakepit_host", "install-launcher", str(tmp_path / "bin")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "SNAKEPIT_PYTHON=" in result.stdout
    snakepit_script = "/opt/app/_build/dev/lib/snakepit/priv/python/grpc_server.py"  # need not exist
    adapter = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
    argv = snakepit_argv(snakepit_script, adapter, 0, elixir_address="127.0.0.1:1", run_id="abc1234")
    host = spawn_host([str(tmp_path / "bin" / "python3"), *argv])
    port = host.wait_ready()
    cmdline = Path(f"/proc/{host.process.pid}/cmdline").read_bytes().split(b"\0")
    assert any(part.endswith(b"grpc_server.py") for part in cmdline)
    assert cmdline[cmdline.index(b"--snakepit-run-id") + 1] == b"abc1234", "Snakepit's orphan cleanup matches this"
    with SnakepitClient(f"127.0.0.1:{port}") as client:
        assert client.call("ping")["status"] == "ok"
    host.process.terminate()
    assert host.wait() == 0


def test_a_dspex_pool_launched_by_snakepit_041_works_unchanged(spawn_host: Spawn) -> None:
    """DSPex's pool config (``--adapter dspex_adapters.dspy_grpc.DSPyGRPCHandler``), Snakepit 0.4.1's argv and
    wire form: snakepit-dspy stands in for DSPex's handler, so its commands answer without DSPex installed."""
    port = free_port()
    argv = ["setsid", python(), *snakepit_argv(GRPC_SERVER, "dspex_adapters.dspy_grpc.DSPyGRPCHandler", port)]
    host = spawn_host(argv)
    assert host.wait_ready() == port

    def call(tool: str, **params: object) -> dict[str, object]:
        request = pb.ExecuteToolRequest(session_id="default_session", tool_name=tool)
        for name, value in params.items():  # 0.4.1: strings tagged snakepit.string, maps as JSON text in a string
            kind = "string" if isinstance(value, (str, dict)) else "integer"
            text = json.dumps(json.dumps(value) if isinstance(value, dict) else value)
            request.parameters[name].type_url = f"type.googleapis.com/snakepit.{kind}"
            request.parameters[name].value = text.encode()
        response = client.stub.ExecuteTool(request, timeout=60)
        assert response.success, response.error_message
        assert response.result.type_url.startswith("type.googleapis.com/snakepit."), "0.4.1 decodes by this type"
        result: dict[str, object] = json.loads(response.result.value)
        return result

    with SnakepitClient(f"localhost:{port}") as client:
        assert call("check_dspy")["available"] is True
        configured = call("configure_lm", model="dummy", answers=json.dumps([{"answer": "Paris"}]))
        assert configured["success"] is True
        created = call(
            "call_dspy", module_path="dspy.Predict", function_name="__init__", kwargs={"signature": "q -> answer"}
        )
        assert (created["success"], created["type"]) == (True, "constructor")
        answer = call(
            "call_dspy",
            module_path=f"stored.{created['instance_id']}",
            function_name="__call__",
            kwargs={"q": "Capital of France?"},
        )
        assert answer["success"] is True and answer["result"] == {"answer": "Paris"}
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
    assert "cannot import" not in host.stderr and "Traceback" not in host.stderr, host.stderr
