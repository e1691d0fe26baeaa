"""What issue 13's floods and faults cost a worker, measured on a host subprocess with every plugin.

- liveness: with 16 WatchVariables streams open and 16 calls whose callers gave
  up still running (the default ``--max-workers 16``), how long Ping,
  Heartbeat and a health check take, and how long a 17th call waits for its
  answer (``RESOURCE_EXHAUSTED``);
- SIGTERM: seconds from the signal to the exit of a worker with 4 calls in
  flight that ignore cancellation (Snakepit 0.4.1 kills at 2 s);
- a 20 MB unknown tool name: time to the answer, and how much the worker's
  peak memory (``VmHWM``) grew;
- watch patterns: the median time of one ``set_variable`` while one watch of
  ``--patterns`` globs (none matching) is open, against no watch; a watch
  over the limit is refused, and then that is the figure.

    .venv/bin/python bench/bench_hardening.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from _common import ServerProcess, bench_env, python

from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb

STUCK_PLUGIN = textwrap.dedent(
    """
    import threading, time
    from snakepit_host import hookimpl

    class Plugin:
        @hookimpl
        def register_commands(self, register):
            register.command("stuck", lambda ctx, params: time.sleep(float(params.get("seconds", 30))) or "done")
    """
)


def start_host(plugin_dir: Path) -> ServerProcess:
    env = bench_env(PYTHONPATH=os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]))
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--adapter", "stuck_plugin:Plugin"]
    return ServerProcess.start("host", argv, env=env)


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    try:
        call()
    except (grpc.RpcError, RemoteError):
        pass  # refusals are what some of these measure
    return time.perf_counter() - started


def liveness(plugin_dir: Path) -> dict[str, Any]:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with start_host(plugin_dir) as host, SnakepitClient(host.address) as client:
        client.call("register_variable", {"name": "x", "type": "integer", "value": 0}, session_id="w")
        request = pb.WatchVariablesRequest(session_id="w", variable_identifiers=["x"], include_initial_values=True)
        watches = [client.stub.WatchVariables(request, timeout=600) for _ in range(16)]
        for watch in watches:
            next(watch)
        for _ in range(16):
            threading.Thread(target=timed, args=(lambda: client.call("stuck", {}, timeout=0.5),), daemon=True).start()
        time.sleep(1.0)  # the callers have given up; the handlers run on
        health = health_pb2_grpc.HealthStub(client.channel)
        pings = [timed(lambda: client.stub.Ping(pb.PingRequest(), timeout=5)) for _ in range(50)]
        result = {
            "ping_p50_ms": statistics.median(pings) * 1000,
            "ping_max_ms": max(pings) * 1000,
            "heartbeat_ms": timed(lambda: client.stub.Heartbeat(pb.HeartbeatRequest(), timeout=5)) * 1000,
            "health_ms": timed(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5)) * 1000,
            "17th_call_ms": timed(lambda: client.call("echo", {}, timeout=5)) * 1000,
        }
        for watch in watches:
            watch.cancel()
        return result


def sigterm(plugin_dir: Path) -> dict[str, Any]:
    host = start_host(plugin_dir)
    client = SnakepitClient(host.address)
    for _ in range(4):
        threading.Thread(target=timed, args=(lambda: client.call("stuck", {}, timeout=60),), daemon=True).start()
    time.sleep(0.5)
    started = time.perf_counter()
    host.process.terminate()
    code = host.process.wait(60)
    seconds = time.perf_counter() - started
    client.close()
    host.stop()
    return {"exit_seconds": seconds, "exit_code": code}


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def huge_name(plugin_dir: Path) -> dict[str, Any]:
    with start_host(plugin_dir) as host, SnakepitClient(host.address) as client:
        client.call("echo", {})
        before = peak_rss_bytes(host.pid)
        seconds = timed(lambda: client.call_full("x" * 20_000_000, {}, timeout=120))
        return {"answer_seconds": seconds, "peak_rss_growth_mib": (peak_rss_bytes(host.pid) - before) / 2**20}


def watch_patterns(plugin_dir: Path, patterns: int) -> dict[str, Any]:
    with start_host(plugin_dir) as host, SnakepitClient(host.address) as client:
        client.call("register_variable", {"name": "t1", "type": "integer", "value": 0}, session_id="w")

        def write_ms(count: int) -> float:
            times = [timed(lambda: client.call("set_variable", {"name": "t1", "value": 1}, session_id="w"))]
            times += [
                timed(lambda: client.call("set_variable", {"name": "t1", "value": 1}, session_id="w"))
                for _ in range(count - 1)
            ]
            return statistics.median(times) * 1000

        alone = write_ms(200)
        globs = [f"other{n}*" for n in range(patterns)]  # none matches t1: every write is checked against all
        request = pb.WatchVariablesRequest(session_id="w", variable_identifiers=globs)
        watch = client.stub.WatchVariables(request, timeout=600)
        ended: list[str] = []

        def read() -> None:
            try:
                for _ in watch:
                    pass
            except grpc.RpcError as exc:
                ended.append(exc.code().name)

        threading.Thread(target=read, daemon=True).start()
        time.sleep(1.0)
        figures: dict[str, Any] = {"patterns": patterns, "write_ms_no_watch": alone}
        if ended:
            figures["watch"] = f"refused ({ended[0]})"
        else:
            figures["write_ms_watched"] = write_ms(5 if patterns > 10_000 else 200)
        watch.cancel()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patterns", type=int, default=1024, help="globs in the watch (default 1024, the limit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plugin_dir = Path(folder)
        (plugin_dir / "stuck_plugin.py").write_text(STUCK_PLUGIN)
        runs: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("liveness with 16 streams and 16 abandoned calls", lambda: liveness(plugin_dir)),
            ("SIGTERM with 4 calls that ignore cancellation", lambda: sigterm(plugin_dir)),
            ("a 20 MB unknown tool name", lambda: huge_name(plugin_dir)),
            (
                f"set_variable under a watch of {args.patterns} patterns",
                lambda: watch_patterns(plugin_dir, args.patterns),
            ),
        ]
        for name, run in runs:
            figures = run()
            print(
                f"{name}: "
                + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
            )


if __name__ == "__main__":
    main()
