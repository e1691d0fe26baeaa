"""``snakepit-host`` sub-commands, run as a user would run them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostproc import GRPC_SERVER, HostProcess, python

Spawn = Callable[..., HostProcess]


def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python(), "-m", "snakepit_host", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def address(spawn_host: Spawn) -> Iterator[str]:
    host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0"])
    port = host.wait_ready()
    yield f"127.0.0.1:{port}"
    host.process.send_signal(signal.SIGTERM)
    host.wait()


def test_call_prints_the_decoded_result(address: str) -> None:
    result = run("call", "echo", "--params", '{"a": [1, 2], "b": "x"}', "--address", address, check=True)
    assert json.loads(result.stdout) == {"a": [1, 2], "b": "x"}


def test_call_errors_exit_1_with_the_message(address: str) -> None:
    result = run("call", "nope", "--address", address)
    assert result.returncode == 1 and result.stderr.startswith("error: unknown command 'nope'")
    unreachable = run("call", "echo", "--address", "127.0.0.1:1", "--timeout", "2")
    assert unreachable.returncode == 1 and "UNAVAILABLE" in unreachable.stderr


def test_call_rejects_bad_params() -> None:
    for params, message in (("{not json", "not valid JSON"), ("[1]", "must be a JSON object")):
        result = run("call", "echo", "--params", params, "--local")
        assert result.returncode == 2 and message in result.stderr


def test_call_binary_in_and_out(address: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 10)
    target = tmp_path / "out.bin"
    result = run(
        "call", "echo", "--address", address, "--binary", f"data=@{source}", "--output", str(target), check=True
    )
    assert json.loads(result.stdout)["binary"] == {"nbytes": 2560}
    assert target.read_bytes() == source.read_bytes()


def test_call_local_runs_without_a_server() -> None:
    result = run("call", "echo", "--local", "--params", '{"k": 1}', "--session", "s1", check=True)
    assert json.loads(result.stdout) == {"k": 1}


def test_describe_local_and_remote(address: str) -> None:
    local = json.loads(run("describe", check=True).stdout)
    remote = json.loads(run("describe", "--address", address, check=True).stdout)
    for info in (local, remote):
        assert {c["name"] for c in info["commands"]} >= {"ping", "echo", "describe"}
    assert remote["host"]["address"] == address


def test_plugins_listing_table_and_json() -> None:
    table = run("plugins", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "STATUS", "VERSION"]
    assert any(line.startswith("core") and "loaded" in line for line in table)
    listing = json.loads(run("plugins", "--json", check=True).stdout)
    core = next(p for p in listing if p["name"] == "core")
    assert core["status"] == "loaded" and core["provides"]["commands"] == ["describe", "echo", "ping", "stats"]


def test_script_path_and_version() -> None:
    assert Path(run("script-path", check=True).stdout.strip()) == GRPC_SERVER
    assert run("version", check=True).stdout.startswith("snakepit-host ")
    assert run("--version", check=True).stdout.startswith("snakepit-host ")


def test_other_commands_refuse_unknown_flags() -> None:
    result = run("plugins", "--bogus")
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr


def test_stream_prints_each_chunk(spawn_host: Spawn, tmp_path: Path) -> None:
    (tmp_path / "counting.py").write_text(
        "from snakepit_host import hookimpl\n"
        "@hookimpl\n"
        "def register_commands(register):\n"
        "    register.command('count', lambda ctx, p: ({'i': i} for i in range(int(p['n']))), streaming=True)\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    host = spawn_host([python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "counting"], env)
    port = host.wait_ready()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakepit_host",
            "call",
            "count",
            "--stream",
            "--params",
            '{"n": 3}',
            "--address",
            f"127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_local_stream_prints_what_a_remote_caller_would_read(tmp_path: Path) -> None:
    (tmp_path / "chunky.py").write_text(
        "from snakepit_host import StreamChunk, hookimpl\n"
        "def chunks(ctx, params):\n"
        "    yield {'plain': 1}\n"
        "    yield StreamChunk({'wrapped': 2})\n"
        "    yield StreamChunk(b'{\"raw\": 3}', is_final=True)\n"
        "@hookimpl\n"
        "def register_commands(register):\n"
        "    register.command('chunks', chunks)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    argv = [sys.executable, "-m", "snakepit_host", "call", "chunks", "--local", "--stream", "--adapter", "chunky"]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"plain": 1}, {"wrapped": 2}, {"raw": 3}]


LOGGING_PLUGIN = """
import logging
from snakepit_host import hookimpl

@hookimpl
def host_started(host):
    logging.getLogger("thirdparty_plugin").info("third-party plugin says hello")
    logging.getLogger("thirdparty_plugin").debug("third-party detail")
    logging.getLogger("httpx").info("HTTP Request: GET http://example (chatty library)")
"""


@pytest.mark.parametrize(("level", "shown"), [("info", True), ("warning", False)])
def test_every_plugins_logs_reach_stderr_at_the_level(
    spawn_host: Spawn, tmp_path: Path, level: str, shown: bool
) -> None:
    (tmp_path / "chatty_plugin.py").write_text(LOGGING_PLUGIN)
    env = {"PYTHONPATH": str(tmp_path), "SNAKEPIT_PLUGINS": "adapter"}
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "chatty_plugin", "--log-level", level]
    host = spawn_host(argv, env)
    port = host.wait_ready()
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
    stderr = host.stderr
    assert ("INFO thirdparty_plugin: third-party plugin says hello" in stderr) is shown, stderr
    assert "third-party detail" not in stderr and "chatty library" not in stderr
    assert host.stdout_lines == [f"GRPC_READY:{port}\n"]  # logs never go to stdout
