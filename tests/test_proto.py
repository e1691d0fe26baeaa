"""The committed proto modules are fresh and carry both Snakepit versions' field numbers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostproc import ROOT

from snakepit_host._bridge_methods import HOST_METHODS, plugin_methods, service_methods
from snakepit_host._server import BridgeServicer
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc


def test_generated_modules_are_not_stale() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# A Python with no site-packages (-S) has no grpcio-tools, like a system Python outside the venv.
BARE_PYTHON = [str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"), "-S"]


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the checkout's .venv")
def test_generate_proto_hands_over_to_the_venv_from_another_python() -> None:
    result = subprocess.run(
        [*BARE_PYTHON, str(ROOT / "scripts" / "generate_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "generated modules are up to date\n"


def test_generate_proto_without_a_venv_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "generate_proto.py", tmp_path / "scripts")
    result = subprocess.run(
        [*BARE_PYTHON, str(tmp_path / "scripts" / "generate_proto.py")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "does not exist: run scripts/setup" in result.stderr


def test_every_rpc_is_either_host_or_plugin_served() -> None:
    methods = set(pb.DESCRIPTOR.services_by_name["BridgeService"].methods_by_name)
    assert set(service_methods()) == methods and methods >= HOST_METHODS
    assert set(plugin_methods()) == methods - HOST_METHODS
    assert pb.DESCRIPTOR.package == "snakepit.bridge"


def test_the_host_methods_are_the_ones_its_servicer_answers() -> None:
    """The servicer overrides every method: the host's own by hand, the others with the plugin dispatcher."""
    generated = pb_grpc.BridgeServiceServicer
    assert all(getattr(BridgeServicer, name) is not getattr(generated, name) for name in service_methods())
    dispatched = {name for name in service_methods() if "_plugin_method" in getattr(BridgeServicer, name).__qualname__}
    assert dispatched == set(plugin_methods())


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        ("ExecuteToolRequest", "binary_parameters", 6),
        ("ExecuteToolResponse", "binary_result", 6),
        ("ExecuteElixirToolResponse", "binary_result", 6),
        ("GetSessionResponse", "tool_count", 4),
        ("GetSessionResponse", "legacy_tool_count", 5),
        ("InitializeSessionResponse", "initial_variables", 4),
        ("ToolSpec", "required_variables", 6),
        ("Variable", "binary_value", 12),
        ("Variable", "optimization_status", 11),
        ("SetVariableRequest", "expected_version", 5),
        ("BatchSetVariablesRequest", "binary_updates", 5),
        ("VariableUpdate", "update_type", 6),
        ("TelemetryEvent", "correlation_id", 5),
        ("ToolChunk", "metadata", 4),
        ("ParameterSpec", "validation_json", 6),
        ("RegisterToolsRequest", "worker_id", 3),
    ],
)
def test_field_numbers_match_snakepit(message: str, field: str, number: int) -> None:
    assert pb.DESCRIPTOR.message_types_by_name[message].fields_by_name[field].number == number


def test_streaming_shapes() -> None:
    methods = pb.DESCRIPTOR.services_by_name["BridgeService"].methods_by_name
    assert methods["ExecuteStreamingTool"].server_streaming and not methods["ExecuteStreamingTool"].client_streaming
    assert methods["WatchVariables"].server_streaming
    assert methods["StreamTelemetry"].server_streaming and methods["StreamTelemetry"].client_streaming
