"""The host against a bare grpcio server: start-up, memory, latency, CPU, throughput, bulk data.

Both servers run as real subprocesses on 127.0.0.1 and are measured
interleaved in one run (bare, host, then host, bare, ...), each repetition
on a fresh process, with the same client code and channel options:

- cold start: spawn -> ``GRPC_READY`` line on stdout, and the CPU used by
  then; for the host also its own start-up timeline (``describe``
  ``host.startup``: interpreter, imports, each plugin's load and registration,
  server bound, ready), printed as medians over the repetitions;
- RSS: ``VmRSS`` after a couple of warm-up calls;
- ``echo`` p50/p99 latency of unary ExecuteTool from one client, and the
  server's CPU (utime+stime from /proc) over that run divided by the calls;
- throughput: calls/s from 8 client threads sharing one channel;
- a 64 MiB ``binary_parameters`` -> ``binary_result`` round trip, MiB/s.

The table gives each server's median and range over the repetitions, the
ratio host/bare (of the medians; in brackets the range of per-repetition
ratios) and the target for that ratio. Results go to ``bench/results/``.

    .venv/bin/python bench/bench_host.py            # full run, ~3 minutes
    .venv/bin/python bench/bench_host.py --quick    # smoke run, ~15 seconds
    .venv/bin/python bench/bench_host.py --only latency --repeat 9 --markdown
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from _common import (
    BENCH_DIR,
    CHANNEL_OPTIONS,
    RESULTS_DIR,
    ROOT,
    UNSET_FOR_SERVERS,
    ServerProcess,
    Spread,
    describe_machine,
    format_spread,
    machine_info,
    markdown_table,
    percentile,
    python,
    read_task_cpu_seconds,
    save_run,
    text_table,
)

from snakepit_host import codec
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

MiB = 1024 * 1024
CALL_TIMEOUT = 30.0
SESSION_ID = "bench"
ECHO_PARAMS: dict[str, Any] = {"text": "hello snakepit", "count": 42, "ratio": 0.5, "tags": ["a", "b"], "on": True}
GROUPS = ("startup", "rss", "latency", "throughput", "binary")
SERVERS: dict[str, list[str]] = {
    "bare": [python(), str(BENCH_DIR / "bare_server.py"), "--port", "0"],
    # The script Snakepit runs (grpc_server.py), as bare_server.py is run: `python -m` alone costs ~5 ms more.
    "host": [python(), str(ROOT / "snakepit_host" / "grpc_server.py"), "--port", "0"],
}


class BenchError(Exception):
    """A server answered wrongly: the figures would be meaningless."""


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    group: str
    target: float | None
    """Limit on the ratio host/bare; None = shown, not judged."""
    higher_is_better: bool = False

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"

    def passes(self, ratio: float | None) -> bool | None:
        if self.target is None or ratio is None:
            return None
        return ratio >= self.target if self.higher_is_better else ratio <= self.target


METRICS = (
    Metric("cold_start_ms", "cold start to ready (ms)", "startup", 1.1),
    Metric("cold_start_cpu_ms", "CPU used until ready (ms)", "startup", None),
    Metric("rss_mb", "RSS after ready (MiB)", "rss", 1.05),
    Metric("p50_us", "echo p50 latency (us)", "latency", 1.25),
    Metric("p99_us", "echo p99 latency (us)", "latency", None),
    Metric("cpu_per_call_us", "server CPU per call (us)", "latency", 1.25),
    Metric("throughput_cps", "throughput, 8 threads (calls/s)", "throughput", 0.8, higher_is_better=True),
    Metric("binary_mib_s", "64 MiB round trip (MiB/s)", "binary", 0.8, higher_is_better=True),
)


@dataclass(frozen=True)
class Settings:
    repeat: int
    warmup_calls: int
    latency_calls: int
    duration: float
    threads: int
    binary_bytes: int
    binary_rounds: int
    groups: tuple[str, ...]

    def wants(self, group: str) -> bool:
        return group in self.groups


# ---------------------------------------------------------------- the client (the same for both servers)


def echo_request(binary: bytes | None = None) -> pb.ExecuteToolRequest:
    request = pb.ExecuteToolRequest(tool_name="echo", session_id=SESSION_ID)
    for name, value in ECHO_PARAMS.items():
        request.parameters[name].CopyFrom(codec.encode_any(value))
    if binary is not None:
        request.binary_parameters["blob"] = binary
    return request


class EchoClient:
    """One channel to a server; unary ExecuteTool calls that must succeed."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        grpc.channel_ready_future(self.channel).result(timeout=CALL_TIMEOUT)
        self.stub: Any = pb_grpc.BridgeServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def call(self, request: pb.ExecuteToolRequest) -> pb.ExecuteToolResponse:
        response: pb.ExecuteToolResponse = self.stub.ExecuteTool(request, timeout=CALL_TIMEOUT)
        if not response.success:
            raise BenchError(f"{request.tool_name} failed: {response.error_message}")
        return response

    def check_echo(self, request: pb.ExecuteToolRequest) -> None:
        """The server really echoes: parameters back as the result, the binary as binary_result."""
        response = self.call(request)
        value = codec.decode_any(response.result)
        if value != ECHO_PARAMS:
            raise BenchError(f"echo returned {value!r}, expected {ECHO_PARAMS!r}")
        sent = next(iter(request.binary_parameters.values()), b"")
        if response.binary_result != sent:
            raise BenchError(f"echo returned {len(response.binary_result)} binary bytes, sent {len(sent)}")

    def close(self) -> None:
        self.channel.close()


def latency_run(client: EchoClient, server: ServerProcess, calls: int) -> dict[str, float]:
    request = echo_request()
    call = client.call
    samples: list[float] = []
    cpu_before = server.cpu_seconds()
    for _ in range(calls):
        started = time.perf_counter()
        call(request)
        samples.append(time.perf_counter() - started)
    cpu = server.cpu_seconds() - cpu_before
    return {
        "p50_us": percentile(samples, 0.50) * 1e6,
        "p99_us": percentile(samples, 0.99) * 1e6,
        "cpu_per_call_us": cpu / calls * 1e6,
    }


def throughput_run(client: EchoClient, threads: int, duration: float) -> float:
    """Calls per second completed by ``threads`` clients calling back to back for ``duration``."""
    request = echo_request()
    stop = threading.Event()
    start_together = threading.Barrier(threads + 1)
    counts = [0] * threads
    finished = [0.0] * threads
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        start_together.wait()
        try:
            while not stop.is_set():
                client.call(request)
                counts[index] += 1
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        finished[index] = time.perf_counter()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    start_together.wait()
    started = time.perf_counter()
    stop.wait(duration)
    stop.set()
    for thread in workers:
        thread.join(CALL_TIMEOUT)
    if errors:
        raise BenchError(f"throughput run failed: {errors[0]!r}")
    return sum(counts) / (max(finished) - started)


def binary_run(client: EchoClient, payload: bytes, rounds: int) -> float:
    """Median MiB/s of ``rounds`` round trips (payload size / round-trip time), after one checked warm-up."""
    request = echo_request(payload)
    client.check_echo(request)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.call(request)
        elapsed = time.perf_counter() - started
        if len(response.binary_result) != len(payload):
            raise BenchError(f"binary round trip returned {len(response.binary_result)} bytes of {len(payload)}")
        rates.append(len(payload) / MiB / elapsed)
    return sorted(rates)[len(rates) // 2]


# ---------------------------------------------------------------- one server process


def measure(kind: str, settings: Settings, payload: bytes, timeline: list[dict[str, float]]) -> dict[str, float]:
    """Start one fresh server of ``kind`` and measure the selected groups on it, in a fixed order.

    The host's start-up timeline goes to ``timeline`` (read last, so that its
    ``describe`` call changes none of the other figures).
    """
    figures: dict[str, float] = {}
    with ServerProcess.start(kind, SERVERS[kind]) as server:
        figures["cold_start_ms"] = server.ready_seconds * 1000
        figures["cold_start_cpu_ms"] = read_task_cpu_seconds(server.pid) * 1000
        client = EchoClient(server.address)
        try:
            if settings.groups == ("startup",):
                if kind == "host":
                    timeline.append(startup_timeline(client, server))
                return figures
            client.check_echo(echo_request())
            client.call(echo_request())
            figures["rss_mb"] = server.rss_bytes() / MiB
            request = echo_request()
            for _ in range(settings.warmup_calls):
                client.call(request)
            if settings.wants("latency"):
                figures.update(latency_run(client, server, settings.latency_calls))
            if settings.wants("throughput"):
                throughput_run(client, settings.threads, min(0.5, settings.duration))  # warm-up: pool threads
                figures["throughput_cps"] = throughput_run(client, settings.threads, settings.duration)
            if settings.wants("binary"):
                figures["binary_mib_s"] = binary_run(client, payload, settings.binary_rounds)
            if kind == "host" and settings.wants("startup"):
                timeline.append(startup_timeline(client, server))
        finally:
            client.close()
    return figures


def startup_timeline(client: EchoClient, server: ServerProcess) -> dict[str, float]:
    """The host's start-up phases as milliseconds after spawn (``<phase>``) and CPU by then (``<phase> cpu``)."""
    described = codec.decode_any(client.call(pb.ExecuteToolRequest(tool_name="describe")).result)
    startup = described["host"]["startup"]
    points: dict[str, float] = {}
    for phase in startup["phases"]:
        points[phase["phase"]] = (phase["at"] - server.spawned_at) * 1000
        points[f"{phase['phase']} cpu"] = phase["cpu"] * 1000
    points["(plugin discovery)"] = startup["discovery_ms"]
    for plugin in startup["plugins"]:
        points[f"plugin {plugin['name']} load"] = plugin["load_ms"] - plugin["registration_ms"]
        points[f"plugin {plugin['name']} registration"] = plugin["registration_ms"]
    return points


def timeline_rows(timelines: list[dict[str, float]]) -> list[list[str]]:
    """Median over the repetitions: each phase's end after spawn, its own duration and CPU, then each plugin's share."""
    if not timelines:
        return []
    phases = [key for key in timelines[0] if not key.endswith(" cpu") and not key.startswith(("plugin ", "("))]
    rows = []
    previous, previous_cpu = 0.0, 0.0
    for phase in phases:
        at = statistics.median(t[phase] for t in timelines)
        cpu = statistics.median(t[f"{phase} cpu"] for t in timelines)
        rows.append([phase, f"{at:.1f}", f"{at - previous:.1f}", f"{cpu - previous_cpu:.1f}"])
        previous, previous_cpu = at, cpu
    for key in timelines[0]:
        if key.startswith(("plugin ", "(")):
            rows.append([f"  {key}", "", f"{statistics.median(t[key] for t in timelines):.2f}", ""])
    return rows


def host_plugins() -> list[dict[str, Any]]:
    """The plugins a served host loads, from its own ``describe`` (also warms the .pyc and page caches)."""
    with ServerProcess.start("host", SERVERS["host"]) as server:
        client = EchoClient(server.address)
        try:
            described = codec.decode_any(client.call(pb.ExecuteToolRequest(tool_name="describe")).result)
        finally:
            client.close()
    plugins: list[dict[str, Any]] = described["plugins"]
    return plugins


def warm_bare() -> None:
    with ServerProcess.start("bare", SERVERS["bare"]) as server:
        client = EchoClient(server.address)
        try:
            client.check_echo(echo_request())
        finally:
            client.close()


def repository_plugins_missing() -> list[str]:
    """Plugin distributions in ``plugins/`` and ``examples/`` that are not installed in this interpreter."""
    import importlib
    from importlib import metadata

    try:
        tomllib = importlib.import_module("tomllib")  # Python 3.11+ (mypy checks as 3.10)
    except ImportError:
        return []

    missing = []
    for project in sorted([*ROOT.glob("plugins/*/pyproject.toml"), *ROOT.glob("examples/*/pyproject.toml")]):
        name = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {}).get("name")
        if not name:
            continue
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(f"{name} (pip install -e {project.parent.relative_to(ROOT)})")
    return missing


# ---------------------------------------------------------------- the run


def run(
    settings: Settings, progress: Callable[[str], None], timeline: list[dict[str, float]]
) -> dict[str, dict[str, list[float]]]:
    """Interleaved repetitions; returns samples[metric][kind] in repetition order."""
    payload = b"\0" + os.urandom(settings.binary_bytes - 1) if settings.wants("binary") else b""
    samples: dict[str, dict[str, list[float]]] = {}
    for rep in range(settings.repeat):
        order = ("bare", "host") if rep % 2 == 0 else ("host", "bare")
        for kind in order:
            figures = measure(kind, settings, payload, timeline)
            progress(
                f"  rep {rep + 1}/{settings.repeat} {kind}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items())
            )
            for key, value in figures.items():
                samples.setdefault(key, {}).setdefault(kind, []).append(value)
    return samples


def summarize(samples: dict[str, dict[str, list[float]]], settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for metric in METRICS:
        if metric.group not in settings.groups or metric.key not in samples:
            continue
        bare, host = Spread.of(samples[metric.key]["bare"]), Spread.of(samples[metric.key]["host"])
        ratio = _ratio(host.median, bare.median)
        paired = [_ratio(h, b) for h, b in zip(host.samples, bare.samples, strict=True)]
        rows.append(
            {
                "metric": metric.key,
                "label": metric.label,
                "bare": bare.as_dict(),
                "host": host.as_dict(),
                "ratio": ratio,
                "paired_ratios": paired,
                "target": metric.target_text(),
                "pass": metric.passes(ratio),
            }
        )
    return rows


def _ratio(host: float, bare: float) -> float | None:
    """host/bare; None when bare is 0 (e.g. CPU below one clock tick in a tiny run)."""
    return host / bare if bare else None


def table_rows(summary: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for row in summary:
        bare, host = (Spread.of(row[k]["samples"]) for k in ("bare", "host"))
        paired = [r for r in row["paired_ratios"] if r is not None]
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        if len(paired) > 1:
            ratio += f" ({min(paired):.2f}-{max(paired):.2f})"
        verdict = {True: "pass", False: "FAIL", None: "-"}[row["pass"]]
        rows.append([row["label"], format_spread(bare), format_spread(host), ratio, row["target"], verdict])
    return rows


HEADERS = ("metric", "bare", "host", "ratio host/bare", "target", "result")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, short runs (smoke use; figures are rough)")
    parser.add_argument("--repeat", type=int, default=None, help="fresh processes per server (default 5; quick 1)")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds of the throughput run (default 5; quick 1)"
    )
    parser.add_argument("--calls", type=int, default=None, help="calls in the latency run (default 3000; quick 300)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="METRIC",
        help=f"measure only these ({', '.join(GROUPS)}); repeatable or comma-separated",
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table for the README")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON results go (default bench/results)"
    )
    args = parser.parse_args(argv)
    groups = [g.strip() for item in args.only for g in item.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown --only {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    args.groups = tuple(g for g in GROUPS if g in groups) if groups else GROUPS
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    quick = args.quick
    return Settings(
        repeat=args.repeat or (1 if quick else 5),
        warmup_calls=20 if quick else 200,
        latency_calls=args.calls or (300 if quick else 3000),
        duration=args.duration or (1.0 if quick else 5.0),
        threads=8,
        binary_bytes=64 * MiB,
        binary_rounds=1 if quick else 5,
        groups=args.groups,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    machine = machine_info()
    print(describe_machine(machine))
    print(
        f"{settings.repeat} repetition(s) of {', '.join(settings.groups)}; latency {settings.latency_calls} calls "
        f"after {settings.warmup_calls} warm-up; throughput {settings.threads} threads x {settings.duration:g}s"
    )
    unset = [name for name in UNSET_FOR_SERVERS if name in os.environ]
    if unset:
        print(f"servers run without {', '.join(unset)} (see bench/_common.py)")
    plugins = host_plugins()
    warm_bare()
    loaded = [p for p in plugins if p["status"] == "loaded"]
    print("host plugins (load ms): " + ", ".join(f"{p['name']} ({p['load_ms']:.1f})" for p in loaded))
    for plugin in plugins:
        if plugin["status"] != "loaded":
            print(f"  plugin {plugin['name']}: {plugin['status']} {plugin['error'] or ''}".rstrip())
    missing = repository_plugins_missing()
    if missing:
        print("WARNING: repository plugins not installed (the host runs without them): " + "; ".join(missing))
    sys.stdout.flush()

    timeline: list[dict[str, float]] = []
    samples = run(settings, lambda line: print(line, file=sys.stderr, flush=True), timeline)
    summary = summarize(samples, settings)
    rows = table_rows(summary)
    print()
    print(text_table(HEADERS, rows))
    if timeline:
        print(f"\nhost start-up timeline (median of {len(timeline)}; ms; CPU = the host's own process time)")
        print(text_table(("phase", "ended after spawn", "took", "CPU"), timeline_rows(timeline)))
    print("\nbare/host: median (min-max) over fresh processes; ratio: of medians (range of per-repetition ratios)")
    if settings.wants("latency") and settings.latency_calls < 1000:
        print(
            f"note: CPU per call is coarse over {settings.latency_calls} calls "
            "(/proc counts whole clock ticks, usually 10 ms)"
        )
    save_run(
        "host",
        machine,
        settings.__dict__,
        args.results_dir,
        servers=SERVERS,
        plugins=plugins,
        missing_repository_plugins=missing,
        metrics=summary,
        startup_timeline=timeline,
    )
    if args.markdown:
        print()
        print(markdown_table(HEADERS, rows))
        print(
            f"\n{machine['usable_cores']} cores, Python {machine['python']}, grpcio {machine['grpcio']}; "
            f"{settings.repeat} repetitions; plugins: {', '.join(p['name'] for p in loaded)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
