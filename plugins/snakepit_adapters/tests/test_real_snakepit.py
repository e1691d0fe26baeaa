"""Snakepit's real priv/python served by the host, when ``SNAKEPIT_PRIV_PYTHON`` names one (skipped otherwise).

Run them against a checkout of Snakepit 0.13.0 or 0.4.1 (see the README)::

    git clone https://github.com/nshkrdotcom/snakepit /tmp/snakepit && git -C /tmp/snakepit checkout v0.13.0
    .venv/bin/pip install psutil            # Snakepit's ShowcaseAdapter imports numpy and psutil
    SNAKEPIT_PRIV_PYTHON=/tmp/snakepit/priv/python .venv/bin/python -m pytest plugins/snakepit_adapters -k real

The version is read from the folder (0.13 has ``snakepit_bridge/heartbeat.py``).
Each host is launched as Snakepit launches it, through ``install-launcher``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostproc import HostProcess, free_port, host_processes, python

from snakepit_host.host_client import SnakepitClient
from snakepit_host.testing.elixir_standin import ElixirStandIn

PRIV_PYTHON = os.environ.get("SNAKEPIT_PRIV_PYTHON")
pytestmark = [
    pytest.mark.skipif(not PRIV_PYTHON, reason="set SNAKEPIT_PRIV_PYTHON to a Snakepit priv/python folder"),
    pytest.mark.skipif(
        importlib.util.find_spec("psutil") is None,
        reason="Snakepit's ShowcaseAdapter needs psutil (pip install psutil)",
    ),
]


@pytest.fixture(scope="module")
def priv() -> Path:
    folder = Path(PRIV_PYTHON or "")
    assert (folder / "snakepit_bridge").is_dir(), f"{folder} is not a Snakepit priv/python folder"
    return folder


@pytest.fixture(scope="module")
def version(priv: Path) -> str:
    return "0.13" if (priv / "snakepit_bridge" / "heartbeat.py").exists() else "0.4"


@pytest.fixture
def worker(
    priv: Path, version: str, elixir_standin: ElixirStandIn, tmp_path: Path
) -> Iterator[tuple[SnakepitClient, HostProcess]]:
    """A host launched with Snakepit's argv, environment and cwd, serving Snakepit's default-style ShowcaseAdapter."""
    subprocess.run(
        [python(), "-m", "snakepit_host", "install-launcher", str(tmp_path)], check=True, capture_output=True
    )
    spec = "snakepit_bridge.adapters.showcase.showcase_adapter.ShowcaseAdapter"
    port = free_port()
    argv = [str(tmp_path / "python3"), str(priv / "grpc_server.py"), "--adapter", spec, "--port", str(port)]
    argv += ["--elixir-address", elixir_standin.address, "--snakepit-run-id", "realrun"]
    env = {"PYTHONPATH": str(priv)} if version == "0.13" else {}
    if version == "0.13":
        env["SNAKEPIT_READY_FILE"] = str(tmp_path / "snakepit_ready_worker_1")
    with host_processes() as spawn:
        host = spawn(argv, env, cwd=priv)
        assert host.wait_ready(60) == port
        with SnakepitClient(f"localhost:{port}") as client:
            yield client, host


def call(client: SnakepitClient, name: str, params: dict[str, Any] | None = None) -> Any:
    return client.stub.ExecuteTool(client.request(name, params, session_id="default_session"), timeout=30)


def test_showcase_calls(
    worker: tuple[SnakepitClient, HostProcess], version: str, elixir_standin: ElixirStandIn
) -> None:
    client, _ = worker
    added = call(client, "add", {"a": 2, "b": 3})
    assert added.result.value == (b"5.0" if version == "0.13" else b"5")
    assert json.loads(call(client, "echo", {"x": [1, 2]}).result.value) == {"echoed": {"x": [1, 2]}}
    info = json.loads(call(client, "adapter_info").result.value)
    assert info["adapter_name"] == "ShowcaseAdapter"
    processed = json.loads(call(client, "process_text", {"text": "abc", "operation": "reverse"}).result.value)
    assert processed["result"] == "cba"
    failed = call(client, "error_demo", {"error_type": "value"})
    assert not failed.success
    if version == "0.13":
        assert json.loads(failed.error_message)["type"] == "ValueError"
    else:
        assert failed.error_message == "This is a demonstration ValueError"
    unknown = call(client, "nonexistent_tool")
    assert "Tool 'nonexistent_tool' not found in ShowcaseAdapter" in unknown.error_message
    announced = [r for r in elixir_standin.calls("RegisterTools") if r.worker_id.startswith("python-")]
    assert [t.name for t in announced[0].tools][-1] == "execute_tool"
    assert len(announced[0].tools) == (12 if version == "0.13" else 13)


def test_showcase_streams(worker: tuple[SnakepitClient, HostProcess], version: str) -> None:
    client, _ = worker
    params = {"steps": 3, "delay_ms": 0} if version == "0.13" else {"steps": 3}
    request = client.request("stream_progress", params, session_id="default_session", stream=True)
    chunks = list(client.stub.ExecuteStreamingTool(request, timeout=30))
    steps = [json.loads(c.data)["step"] for c in chunks if c.data]
    assert steps == [1, 2, 3] and chunks[-1].is_final


def test_session_state_across_calls(worker: tuple[SnakepitClient, HostProcess]) -> None:
    client, host = worker
    assert json.loads(call(client, "init_session").result.value)["worker_pid"] == host.process.pid
    call(client, "increment_counter")
    assert json.loads(call(client, "get_counter").result.value) == {"value": 1}
