"""snakepit-variables stores: memory, sqlite and redis, measured in one run.

Each store is served by host subprocesses with only the variables plugin
(``--variables-store``), on 127.0.0.1; sqlite uses a fresh file in a
temporary directory, redis a ``redis-server`` started for the run with its
append-only file synced every second (``--redis-fsync always`` syncs every
write, as the tests do: each commit then waits for the disk). Measured per store:

- latency (median and p99 of ``--calls`` calls, one client, after warm-up) of
  GetVariable, SetVariable, and SetVariables with an atomic batch of 10,
  each as a ratio to the memory store's;
- 2-process throughput: two workers on the same store (for memory, two
  separate ones: nothing is shared), ``--threads`` client threads per worker
  calling SetVariable on their own variable for ``--duration`` seconds;
  completed writes per second over both.

    .venv/bin/python bench/bench_stores.py            # about 1 minute
    .venv/bin/python bench/bench_stores.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import grpc
from _common import (
    CHANNEL_OPTIONS,
    ServerProcess,
    bench_env,
    describe_machine,
    format_number,
    machine_info,
    percentile,
    python,
    save_run,
    text_table,
)
from snakepit_variables.redis_testing import RedisServer

from snakepit_host.codec import SNAKEPIT_URL_PREFIX
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

STORES = ("memory", "sqlite", "redis")
SESSION = "bench"
BATCH = 10


def _value(number: float) -> Any:
    from google.protobuf.any_pb2 import Any as AnyMessage

    return AnyMessage(type_url=SNAKEPIT_URL_PREFIX + "float", value=json.dumps(number).encode())


@contextmanager
def workers(store: str, count: int, directory: Path, redis_url: str) -> Iterator[list[ServerProcess]]:
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "variables"]
    argv += ["--variables-store", store]
    if store == "sqlite":
        argv += ["--variables-sqlite-path", str(directory / "bench.sqlite3")]
    if store == "redis":
        argv += ["--variables-redis-url", redis_url, "--variables-redis-prefix", f"bench-{time.time_ns()}"]
    with ExitStack() as stack:
        yield [stack.enter_context(ServerProcess.start(f"{store}-{n}", argv, env=bench_env())) for n in range(count)]


def _stub(server: ServerProcess) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    return channel, pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]


def _register(stub: Any, name: str) -> None:
    stub.RegisterVariable(
        pb.RegisterVariableRequest(session_id=SESSION, name=name, type="float", initial_value=_value(0.0)), timeout=30
    )


def _timed(call: Callable[[int], Any], calls: int) -> list[float]:
    for n in range(min(100, calls)):
        call(n)
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        call(n)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def measure_latency(server: ServerProcess, calls: int) -> dict[str, list[float]]:
    channel, stub = _stub(server)
    with channel:
        names = [f"v{n}" for n in range(BATCH)]
        for name in names:
            _register(stub, name)

        def get(n: int) -> Any:
            return stub.GetVariable(pb.GetVariableRequest(session_id=SESSION, variable_identifier="v0"), timeout=30)

        def set_one(n: int) -> Any:
            request = pb.SetVariableRequest(session_id=SESSION, variable_identifier="v0", value=_value(n / calls))
            return stub.SetVariable(request, timeout=30)

        def set_batch(n: int) -> Any:
            request = pb.BatchSetVariablesRequest(session_id=SESSION, atomic=True)
            for name in names:
                request.updates[name].CopyFrom(_value(n / calls))
            response = stub.SetVariables(request, timeout=30)
            if not response.success:
                raise RuntimeError(dict(response.errors))
            return response

        return {"get": _timed(get, calls), "set": _timed(set_one, calls), "batch": _timed(set_batch, calls)}


def measure_throughput(servers: list[ServerProcess], threads: int, duration: float) -> float:
    counts: list[int] = []
    start = threading.Barrier(len(servers) * threads + 1)
    stop = threading.Event()

    def run(server: ServerProcess, index: int) -> None:
        channel, stub = _stub(server)
        with channel:
            name = f"w{server.name}_{index}".replace("-", "_")
            _register(stub, name)
            start.wait()
            done = 0
            while not stop.is_set():
                request = pb.SetVariableRequest(session_id=SESSION, variable_identifier=name, value=_value(done))
                stub.SetVariable(request, timeout=30)
                done += 1
            counts.append(done)

    pool = [threading.Thread(target=run, args=(s, i)) for s in servers for i in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in pool:
        thread.join(60)
    return sum(counts) / (time.perf_counter() - began)


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        RedisServer(Path(tmp) / "redis", fsync=args.redis_fsync) as redis_server,
    ):
        for store in STORES:
            with workers(store, 2, Path(tmp) / store, redis_server.url) as servers:
                latency = measure_latency(servers[0], args.calls)
                throughput = measure_throughput(servers, args.threads, args.duration)
            results[store] = {"latency_us": latency, "throughput_per_s": throughput}
            print(f"  {store}: done", file=sys.stderr)
    return results


def report(results: dict[str, Any]) -> str:
    base = results["memory"]
    rows = []
    for label, key in (
        ("GetVariable", "get"),
        ("SetVariable", "set"),
        (f"SetVariables, atomic batch of {BATCH}", "batch"),
    ):
        base_p50 = percentile(base["latency_us"][key], 0.5)
        for store in STORES:
            samples = results[store]["latency_us"][key]
            p50 = percentile(samples, 0.5)
            rows.append(
                [
                    f"{label} p50 / p99 (us)",
                    store,
                    f"{format_number(p50)} / {format_number(percentile(samples, 0.99))}",
                    f"{p50 / base_p50:.2f}",
                ]
            )
    base_throughput = base["throughput_per_s"]
    for store in STORES:
        value = results[store]["throughput_per_s"]
        rows.append(
            ["SetVariable, 2 workers (writes/s)", store, format_number(value), f"{value / base_throughput:.2f}"]
        )
    return text_table(["measure", "store", "value", "ratio to memory"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per latency measurement (default 2000)")
    parser.add_argument("--threads", type=int, default=4, help="client threads per worker (default 4)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of throughput (default 5)")
    parser.add_argument("--redis-fsync", choices=["everysec", "always"], default="everysec", help="Redis appendfsync")
    parser.add_argument("--quick", action="store_true", help="smoke run: few calls, 1 s of throughput")
    parser.add_argument("--save", action="store_true", help="also write bench/results/stores-<time>.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.duration = 100, 1.0
    info = machine_info()
    print(describe_machine(info))
    results = run(args)
    print(report(results))
    if args.save:
        save_run("stores", info, vars(args), results=results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
