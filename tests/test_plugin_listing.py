"""A third-party plugin, pip-installed for real, is listed, described and served like the built-ins.

This walks the author guide's last steps (docs/plugins.md) with the example
package: ``pip install ./examples/snakepit_example``, ``snakepit-host
plugins``, ``describe``, ``serve`` and ``call`` over gRPC, and the health
service an operator would probe (docs/snakepit.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from hostproc import HostProcess
from plugin_packages import ROOT, SNAKEPIT_HOST, cli_env, listing, pip_install, run_cli

Spawn = Callable[..., HostProcess]
EXAMPLE = ROOT / "examples" / "snakepit_example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pip_install([EXAMPLE], tmp_path_factory.mktemp("example"))


def test_the_installed_copy_is_the_one_loaded(site: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import snakepit_example.plugin as p; print(p.__file__)"],
        env=cli_env(site),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)
    assert (
        "example = snakepit_example.plugin"
        in (site / "snakepit_example-0.1.0.dist-info" / "entry_points.txt").read_text()
    )


def test_json_listing_shows_it_like_a_builtin(site: Path) -> None:
    plugins = listing(cli_env(site))
    example, core = plugins["example"], plugins["core"]
    assert set(example) == set(core)  # same record, same fields
    assert example["status"] == "loaded" and example["error"] is None and not example["builtin"]
    assert (example["distribution"], example["version"], example["module"]) == (
        "snakepit-example",
        "0.1.0",
        "snakepit_example.plugin",
    )
    assert example["requirement"] == "<0.2,>=0.1"
    assert example["hooks"] == [
        "host_started",
        "register_commands",
        "register_tools",
        "register_types",
        "session_closed",
        "session_created",
    ]
    assert example["provides"] == {
        "commands": ["example_sessions"],
        "tools": ["payment_schedule", "split_bill"],
        "types": ["money"],
    }
    assert isinstance(example["load_ms"], float) and example["runtime_errors"] == []


def test_table_listing(site: Path) -> None:
    done = run_cli(["plugins"], cli_env(site))
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "VERSION", "DISTRIBUTION", "LOAD", "MS", "PROVIDES", "/", "REASON"]
    row = next(r for r in rows if r.startswith("example "))
    assert row.split()[1:4] == ["loaded", "0.1.0", "snakepit-example"]
    assert row.endswith("commands: example_sessions; tools: payment_schedule, split_bill; types: money")


def test_local_describe_includes_its_items(site: Path) -> None:
    done = run_cli(["describe"], cli_env(site))
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert {"name": "money", "owner": "example"}.items() <= next(
        t for t in info["types"] if t["name"] == "money"
    ).items()
    owners = {item["name"]: item["owner"] for item in info["tools"] + info["commands"]}
    assert owners["split_bill"] == owners["payment_schedule"] == owners["example_sessions"] == "example"
    assert owners["ping"] == "core"


def test_served_and_called_with_the_cli(site: Path, spawn_host: Spawn) -> None:
    env = cli_env(site)
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0"], env)
    address = f"127.0.0.1:{host.wait_ready()}"
    split = run_cli(["call", "split_bill", "--params", '{"total": "10.00", "people": 3}', "--address", address], env)
    assert split.returncode == 0, split.stderr
    assert json.loads(split.stdout)["shares"] == ["3.34", "3.33", "3.33"]
    streamed = run_cli(
        ["call", "payment_schedule", "--stream", "--params", '{"amount": "9", "months": 3}', "--address", address], env
    )
    assert [json.loads(line)["remaining"] for line in streamed.stdout.splitlines()] == ["6.00", "3.00", "0.00"]
    refused = run_cli(["call", "split_bill", "--params", '{"total": "10", "people": 0}', "--address", address], env)
    assert refused.returncode == 1 and "people" in refused.stderr
    ping = run_cli(["call", "ping", "--address", address], env)
    assert json.loads(ping.stdout)["status"] == "ok"
    described = json.loads(run_cli(["describe", "--address", address], env).stdout)
    assert described["status"]["example"]["created"] >= 1  # the lifecycle hook counted the CLI's sessions
    assert _health(address) == "SERVING"
    host.process.terminate()
    assert host.wait() == 0


def _health(address: str) -> str:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service="snakepit.bridge.BridgeService"), timeout=10)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
