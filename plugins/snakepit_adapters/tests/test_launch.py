"""Hosts launched as Snakepit launches its workers, with the stand-in priv/python as Snakepit's folder."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostproc import GRPC_SERVER, HostProcess, free_port, host_processes, python

from snakepit_host.host_client import SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

DATA = Path(__file__).resolve().parent / "data"
ADAPTERS = DATA / "adapters"
PRIV_041 = DATA / "snakepit_v041" / "priv" / "python"
PRIV_013 = DATA / "snakepit_v013" / "priv" / "python"
Spawn = Callable[..., HostProcess]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    with host_processes() as start:
        yield start


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``snakepit-host install-launcher``: the python3 Snakepit is told to run."""
    folder = tmp_path_factory.mktemp("launcher")
    subprocess.run([python(), "-m", "snakepit_host", "install-launcher", str(folder)], check=True, capture_output=True)
    return folder / "python3"


def raw(
    port: int, name: str, params: dict[str, object] | None = None, session: str = "default_session"
) -> pb.ExecuteToolResponse:
    with SnakepitClient(f"localhost:{port}") as client:
        response: pb.ExecuteToolResponse = client.stub.ExecuteTool(
            client.request(name, params, session_id=session), timeout=10
        )
        return response


def test_snakepit_041_launch_serves_its_showcase_adapter(spawn: Spawn, launcher: Path) -> None:
    port = free_port()
    argv = [str(launcher), str(PRIV_041 / "grpc_server.py"), "--adapter"]
    argv += ["snakepit_bridge.adapters.showcase.showcase_adapter.ShowcaseAdapter", "--port", str(port)]
    argv += ["--elixir-address", "localhost:1", "--snakepit-run-id", "1732000000123456_424242"]
    host = spawn(argv, cwd=PRIV_041)
    assert host.wait_ready() == port
    added = raw(port, "add", {"a": 2, "b": 3})
    assert added.success and added.result.type_url.endswith("snakepit.integer") and added.result.value == b"5"
    failed = raw(port, "error_demo", {"error_type": "value"})
    assert failed.error_message == "This is a demonstration ValueError", "0.4's str(exc), from the launch signal"
    host.process.terminate()
    assert host.wait() == 0
    assert host.rest_of_stdout() == [f"GRPC_READY:{port}\n"]
    assert "served with Snakepit 0.4's encodings: launched by Snakepit 0.4" in host.stderr


def test_snakepit_041_default_adapter_is_served(spawn: Spawn, launcher: Path) -> None:
    argv = [
        str(launcher),
        str(PRIV_041 / "grpc_server.py"),
        "--adapter",
        "snakepit_bridge.adapters.enhanced.EnhancedBridge",
    ]
    argv += ["--port", "0", "--elixir-address", "localhost:1", "--snakepit-run-id", "run41"]
    host = spawn(argv, cwd=PRIV_041)
    port = host.wait_ready()
    with SnakepitClient(f"localhost:{port}") as client:
        listing = {p["name"]: p for p in client.call("describe")["plugins"]}
    assert (listing["EnhancedBridge"]["status"], listing["EnhancedBridge"]["kind"]) == ("loaded", "adapter")
    host.process.terminate()
    assert host.wait() == 0


def test_snakepit_013_launch_serves_its_showcase_adapter(
    spawn: Spawn, launcher: Path, elixir_standin: ElixirStandIn, tmp_path: Path
) -> None:
    ready_file = tmp_path / "snakepit_ready_default_worker_1_7"
    env = {"SNAKEPIT_READY_FILE": str(ready_file), "PYTHONPATH": str(PRIV_013), "SNAKEPIT_LOG_LEVEL": "error"}
    argv = [
        str(launcher),
        str(PRIV_013 / "grpc_server.py"),
        "--adapter",
        "snakepit_bridge.adapters.showcase.ShowcaseAdapter",
    ]
    argv += ["--port", "0", "--elixir-address", elixir_standin.address, "--snakepit-run-id", "k3x9a2p"]
    host = spawn(argv, env, cwd=PRIV_013)
    port = host.wait_ready()
    wait_until(ready_file.exists)
    with SnakepitClient(f"localhost:{port}") as client:
        assert client.stub.InitializeSession(pb.InitializeSessionRequest(session_id="session_1_7")).success
    added = raw(port, "add", {"a": 2, "b": 3}, "session_1_7")
    assert added.success and added.result.value == b"5.0", "0.13 sends integers as floats"
    failed = raw(port, "error_demo", {"error_type": "value"}, "session_1_7")
    assert json.loads(failed.error_message)["type"] == "ValueError"
    # The adapter's announcement (Snakepit's worker id, python-<id>) beside snakepit-tools' for the host's tools.
    announced = [a for a in elixir_standin.calls("RegisterTools") if a.worker_id.startswith("python-")]
    assert [a.session_id for a in announced] == ["session_1_7"] and announced[0].tools[-1].name == "execute_tool"
    others = [a for a in elixir_standin.calls("RegisterTools") if not a.worker_id.startswith("python-")]
    assert others and "execute_tool" not in {t.name for t in others[0].tools}
    host.process.terminate()
    assert host.wait() == 0
    assert host.stderr == "", "a clean run says nothing at log level error"


def test_the_snakepit_script_folder_is_importable_without_pythonpath(spawn: Spawn) -> None:
    argv = [python(), str(GRPC_SERVER), "--adapter", "snakepit_bridge.adapters.showcase.ShowcaseAdapter", "--port", "0"]
    argv += ["--snakepit-script", str(PRIV_013 / "grpc_server.py")]
    host = spawn(argv)
    port = host.wait_ready()
    assert raw(port, "echo", {"x": 1}).result.value == b'{"echoed":{"x":1}}'
    host.process.terminate()
    assert host.wait() == 0


def test_an_adapter_writing_to_stdout_does_not_disturb_the_readiness_line(spawn: Spawn, launcher: Path) -> None:
    port = free_port()
    argv = [str(launcher), str(PRIV_041 / "grpc_server.py"), "--adapter", "chatty_adapter.Chatty", "--port", str(port)]
    argv += ["--elixir-address", "localhost:1", "--snakepit-run-id", "chatty"]
    host = spawn(argv, {"PYTHONPATH": str(ADAPTERS)}, cwd=PRIV_041)
    assert host.wait_ready() == port
    assert raw(port, "anything").result.value == b'"said"'
    host.process.terminate()
    assert host.wait() == 0
    assert host.rest_of_stdout() == [f"GRPC_READY:{port}\n"], "stdout carries only the readiness line"
    for said in ("imported", "raw write to fd 1", "instantiated", "in a tool", "raw write in a tool"):
        assert f"chatty adapter: {said}" in host.stderr


def test_strict_mode_exits_when_the_adapter_cannot_be_served(spawn: Spawn) -> None:
    argv = [python(), str(GRPC_SERVER), "--adapter", "missing_dependency_adapter.NeedsIt", "--port", "0"]
    host = spawn(argv, {"PYTHONPATH": str(ADAPTERS), "SNAKEPIT_STRICT_PLUGINS": "1"})
    assert host.wait() == 78
    assert "No module named 'definitely_not_installed_module'" in host.stderr


@pytest.mark.parametrize(("spec", "code"), [("modern_adapter.ModernAdapter", 0), ("bad_adapters.InitFails", 1)])
def test_health_check_reports_the_adapter(spawn: Spawn, spec: str, code: int) -> None:
    argv = [python(), str(GRPC_SERVER), "--health-check", "--adapter", spec]
    host = spawn(argv, {"PYTHONPATH": f"{ADAPTERS}:{PRIV_013}"})
    assert host.wait() == code
    if code:
        assert (
            "plugin InitFails: RuntimeError: InitFails() failed: RuntimeError: cannot load model weights" in host.stderr
        )
