"""The plugin in a worker process: exporters chosen by OTEL_*, stdout left to readiness, no import when off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import snakepit_host
from snakepit_host.host_client import SnakepitClient

GRPC_SERVER = Path(snakepit_host.__file__).with_name("grpc_server.py")
SP_ID = "sp-0123456789abcdef01234567"


def serve_and_call(env: dict[str, str], *args: str) -> tuple[str, str]:
    """Start a worker with snakepit-otel, make one call, stop it (SIGTERM flushes spans); (stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEPIT_", "OTEL_"))}
    environment.update({"SNAKEPIT_CACHE_DIR": os.environ.get("SNAKEPIT_CACHE_DIR", ""), **env})
    process = subprocess.Popen(
        [sys.executable, str(GRPC_SERVER), "--port", "0", "--plugins", "otel", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    ready = process.stdout.readline()
    try:
        assert ready.startswith("GRPC_READY:"), process.communicate(timeout=10)
        with SnakepitClient(f"127.0.0.1:{int(ready.split(':')[1])}") as client:
            assert client.call("ping", metadata={"correlation_id": SP_ID})["status"] == "ok"
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    return ready + stdout, stderr


def test_console_exporter_writes_one_json_span_per_line_on_stderr() -> None:
    stdout, stderr = serve_and_call({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "workers"}, "--otel")
    assert stdout.splitlines() == [stdout.splitlines()[0]] and stdout.startswith("GRPC_READY:")  # nothing else
    spans = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    (call,) = [s for s in spans if s["name"] == "BridgeService/ExecuteTool"]
    assert call["kind"] == "SpanKind.SERVER" and call["attributes"]["snakepit.correlation_id"] == SP_ID
    assert call["resource"]["attributes"]["service.name"] == "workers"
    assert call["resource"]["attributes"]["service.namespace"] == "snakepit"


def test_snakepit_defaults_for_the_resource() -> None:
    _, stderr = serve_and_call({"OTEL_TRACES_EXPORTER": "console", "SNAKEPIT_OTEL": "1", "SNAKEPIT_INSTANCE_ID": "w7"})
    (call,) = [json.loads(line) for line in stderr.splitlines() if '"BridgeService/ExecuteTool"' in line]
    resource = call["resource"]["attributes"]
    assert resource["service.name"] == "snakepit.python.bridge" and resource["service.instance.id"] == "w7"


def test_a_bad_exporter_is_one_clear_error_and_calls_are_served() -> None:
    _, stderr = serve_and_call({"OTEL_TRACES_EXPORTER": "zipkin"}, "--otel")
    assert (
        "plugin otel: call observer 'tracing' could not start: ValueError: OTEL_TRACES_EXPORTER names zipkin, "
        "which snakepit-otel does not provide (choose from otlp, console, none); calls are served without it"
    ) in stderr


def test_off_imports_nothing_of_opentelemetry() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import snakepit_otel.plugin
        from snakepit_host.testing import running_host
        with running_host(snakepit_otel.plugin) as running:
            running.client().call("ping")
            print(running.host.observers, sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEPIT_OTEL", "OTEL_"))}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=environment)
    assert done.stdout.strip() == "() []", done.stderr
