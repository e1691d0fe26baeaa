"""Soak: 8 concurrent clients with mixed calls against a host subprocess; nothing lost, nothing leaked.

The host runs as ``python -m snakepit_host serve --port 0`` with every
installed plugin (snakepit-variables, snakepit-tools and snakepit-example are
needed). Each client is its own process, with its own channel and session:
threads in one process would share one GIL, so the clients' own work would
serialise and throttle the load; separate processes are independent callers,
as Snakepit's are. Each client, in a loop:

- ``echo`` (ExecuteTool) with a small map, checked;
- ``set_variable`` of its own integer counter to n (ExecuteTool), which must
  answer version n, then ``GetVariable`` (the 0.4.x RPC), which must read
  exactly n at version n: a lost or reordered write cannot go unnoticed;
- ``split_bill`` (a snakepit-tools tool from snakepit-example), checked;
- ``payment_schedule`` streamed (ExecuteStreamingTool), every chunk checked;

and keeps a ``WatchVariables`` stream open on its counter for the whole run,
which must see every version, in order, up to the last one written.

After ``--warmup`` seconds the host's RSS, threads and open file descriptors
are read from /proc, and again after ``--duration`` seconds, while the clients
still run. Latencies are those of the measured window; errors count over the
whole run. Targets: 0 errors, 0 lost or reordered writes, RSS growth under
5 % after warm-up, no more threads or descriptors at the end than at the
start. The exit status is 1 when a correctness target (errors, lost or
reordered writes) is missed; the resource figures are reported, not judged
in the exit status. Results go to ``bench/results/soak-<time>.json``.

    .venv/bin/python bench/soak.py                           # 60 s after a 10 s warm-up
    .venv/bin/python bench/soak.py --duration 3 --warmup 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import grpc
from _common import (
    CHANNEL_OPTIONS,
    RESULTS_DIR,
    ServerProcess,
    describe_machine,
    machine_info,
    percentile,
    python,
    read_rss_bytes,
    text_table,
    write_results,
)

from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb

KINDS = ("echo", "set_variable", "GetVariable", "split_bill", "payment_schedule")
REQUIRED_COMMANDS = ("echo", "set_variable", "register_variable", "split_bill", "payment_schedule")
CALL_TIMEOUT = 30.0
MAX_ERROR_SAMPLES = 5
RSS_GROWTH_TARGET = 0.05


class CheckFailed(Exception):
    """A call answered, but not what it had to."""


# ---------------------------------------------------------------- one client (runs in its own process)


@dataclass
class ClientReport:
    index: int
    calls: dict[str, int] = field(default_factory=dict)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    writes: int = 0
    watch_events: int = 0
    watch_last_version: int = -1
    lost_writes: int = 0
    reordered_writes: int = 0

    def error(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")


class CounterWatch:
    """A WatchVariables stream on one counter; every version must arrive, in order, with its own value."""

    def __init__(self, stub: Any, session: str, name: str, report: ClientReport) -> None:
        request = pb.WatchVariablesRequest(session_id=session, variable_identifiers=[name], include_initial_values=True)
        self.call = stub.WatchVariables(request)
        self.report = report
        self.first = threading.Event()
        self.advanced = threading.Condition()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        report = self.report
        try:
            for update in self.call:
                version = update.variable.version
                value = json.loads(update.variable.value.value)
                with self.advanced:
                    last = report.watch_last_version
                    if last >= 0 and version <= last:
                        report.reordered_writes += 1
                    elif last >= 0 and version > last + 1:
                        report.lost_writes += version - last - 1
                    if value != version:
                        report.error("watch", CheckFailed(f"version {version} carries value {value}"))
                    report.watch_events += 1
                    report.watch_last_version = max(last, version)
                    self.advanced.notify_all()
                self.first.set()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                report.error("WatchVariables", exc)
        finally:
            self.first.set()

    def finish(self, last_written: int, timeout: float = 15.0) -> None:
        """Wait for the last version written to arrive, then end the stream."""
        with self.advanced:
            self.advanced.wait_for(lambda: self.report.watch_last_version >= last_written, timeout)
        shortfall = last_written - self.report.watch_last_version
        if shortfall > 0:
            self.report.lost_writes += shortfall
        self.call.cancel()
        self.thread.join(timeout)


def run_client(index: int, address: str, ready: Any, measuring: Event, stop: Event, results: Any) -> None:
    report = ClientReport(index)
    channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    client = SnakepitClient(channel=channel, timeout=CALL_TIMEOUT)
    session, counter = f"soak-{index}", f"counter_{index}"
    try:
        client.call("register_variable", {"name": counter, "type": "integer", "value": 0}, session_id=session)
        watch = CounterWatch(client.stub, session, counter, report)
        watch.first.wait(CALL_TIMEOUT)
        ready.put(index)
        version = 0
        while not stop.is_set():
            for kind, operation in _operations(client, session, counter, version + 1):
                started = time.perf_counter()
                try:
                    operation()
                except (grpc.RpcError, RemoteError, CheckFailed, ValueError, KeyError) as exc:
                    report.error(kind, exc)
                elapsed = (time.perf_counter() - started) * 1000
                if kind == "set_variable":
                    version += 1  # attempted: a failed write shows up as an error and as a lost version
                report.calls[kind] = report.calls.get(kind, 0) + 1
                if measuring.is_set():
                    report.latencies_ms.setdefault(kind, []).append(elapsed)
        report.writes = version
        watch.finish(version)
    except Exception as exc:  # a client that cannot run is one big error, not a silent gap
        report.error("client", exc)
    finally:
        client.close()
        channel.close()
        results.put(asdict(report))


def _operations(
    client: SnakepitClient, session: str, counter: str, version: int
) -> Iterable[tuple[str, Callable[[], None]]]:
    def echo() -> None:
        sent = {"client": session, "n": version, "tags": ["a", "b"], "ok": True}
        _expect(client.call("echo", sent, session_id=session) == sent, "echo changed its parameters")

    def set_counter() -> None:
        answer = client.call("set_variable", {"name": counter, "value": version}, session_id=session)
        _expect(answer["version"] == version, f"set {version} answered version {answer['version']}")

    def get_counter() -> None:
        request = pb.GetVariableRequest(session_id=session, variable_identifier=counter)
        variable = client.stub.GetVariable(request, timeout=CALL_TIMEOUT).variable
        value = json.loads(variable.value.value)
        _expect(value == version and variable.version == version, f"read {value}@{variable.version}, wrote {version}")

    def split_bill() -> None:
        bill = client.call("split_bill", {"total": "100.00", "people": 3, "tip_percent": 10}, session_id=session)
        _expect(bill["shares"] == ["36.67", "36.67", "36.66"], f"split_bill answered {bill}")

    def payment_schedule() -> None:
        chunks = list(client.stream("payment_schedule", {"amount": "12.00", "months": 4}, session_id=session))
        months = [c["month"] for c in chunks]
        _expect(months == [1, 2, 3, 4] and chunks[-1]["remaining"] == "0.00", f"payment_schedule sent {chunks}")

    yield from [
        ("echo", echo),
        ("set_variable", set_counter),
        ("GetVariable", get_counter),
        ("split_bill", split_bill),
        ("payment_schedule", payment_schedule),
    ]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------- the host process, from /proc


@dataclass(frozen=True)
class Resources:
    rss_bytes: int
    threads: int
    open_fds: int

    @classmethod
    def of(cls, pid: int) -> Resources:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
        return cls(read_rss_bytes(pid), threads, len(os.listdir(f"/proc/{pid}/fd")))


# ---------------------------------------------------------------- the run


def soak(clients: int, duration: float, warmup: float) -> dict[str, Any]:
    host = ServerProcess.start("host", [python(), "-m", "snakepit_host", "serve", "--port", "0"])
    try:
        _check_commands(host.address)
        context = multiprocessing.get_context("spawn")
        ready, results = context.Queue(), context.Queue()
        measuring, stop = context.Event(), context.Event()
        workers = [
            context.Process(target=run_client, args=(i, host.address, ready, measuring, stop, results), daemon=True)
            for i in range(clients)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=120)
        time.sleep(warmup)
        start, started = Resources.of(host.pid), time.monotonic()
        measuring.set()
        rss_samples = [start.rss_bytes]
        while time.monotonic() - started < duration:
            time.sleep(min(1.0, max(0.0, duration - (time.monotonic() - started))))
            rss_samples.append(read_rss_bytes(host.pid))
        end, elapsed = Resources.of(host.pid), time.monotonic() - started
        measuring.clear()
        stop.set()
        reports = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(30)
    finally:
        exit_code = host.stop()
    return summarise(reports, start, end, rss_samples, elapsed, exit_code, clients, warmup)


def _check_commands(address: str) -> None:
    with SnakepitClient(address) as client:
        described = client.call("describe", {})
    names = {c["name"] for c in described["commands"] + described["tools"]}
    missing = [name for name in REQUIRED_COMMANDS if name not in names]
    if missing:
        sys.exit(
            f"the host lacks {', '.join(missing)}: install snakepit-variables, snakepit-tools and snakepit-example "
            "(scripts/setup does)"
        )


def summarise(
    reports: list[dict[str, Any]],
    start: Resources,
    end: Resources,
    rss_samples: list[int],
    elapsed: float,
    exit_code: int,
    clients: int,
    warmup: float,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for report in reports:
        for kind, values in report["latencies_ms"].items():
            latencies[kind].extend(values)
    measured = [value for values in latencies.values() for value in values]
    every = sorted(measured) or [0.0]
    growth = (end.rss_bytes - start.rss_bytes) / start.rss_bytes
    totals = {
        "calls_total": sum(sum(r["calls"].values()) for r in reports),
        "calls_measured": len(measured),
        "calls_per_second": len(measured) / elapsed,
        "errors": sum(r["errors"] for r in reports),
        "writes": sum(r["writes"] for r in reports),
        "watch_events": sum(r["watch_events"] for r in reports),
        "lost_writes": sum(r["lost_writes"] for r in reports),
        "reordered_writes": sum(r["reordered_writes"] for r in reports),
        "p50_ms": percentile(every, 0.5),
        "p99_ms": percentile(every, 0.99),
        "rss_growth": growth,
        "host_exit_code": exit_code,
    }
    return {
        "settings": {"clients": clients, "duration_s": round(elapsed, 2), "warmup_s": warmup},
        "totals": totals,
        "by_kind": {
            kind: {
                "calls": len(values),
                "p50_ms": percentile(values, 0.5) if values else None,
                "p99_ms": percentile(values, 0.99) if values else None,
            }
            for kind, values in latencies.items()
        },
        "host": {"start": asdict(start), "end": asdict(end), "rss_samples": rss_samples, "peak_rss": max(rss_samples)},
        "error_samples": [sample for r in reports for sample in r["error_samples"]],
        "clients": reports,
        "machine": machine_info(),
    }


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool, bool]]:
    """(what, measured, target, met, is a correctness target)."""
    totals, start, end = results["totals"], results["host"]["start"], results["host"]["end"]
    mib = 1024 * 1024
    return [
        ("errors", str(totals["errors"]), "0", totals["errors"] == 0, True),
        ("lost writes", str(totals["lost_writes"]), "0", totals["lost_writes"] == 0, True),
        ("reordered writes", str(totals["reordered_writes"]), "0", totals["reordered_writes"] == 0, True),
        (
            "host RSS after warm-up -> end (MiB)",
            f"{start['rss_bytes'] / mib:.1f} -> {end['rss_bytes'] / mib:.1f} ({totals['rss_growth']:+.1%})",
            f"< +{RSS_GROWTH_TARGET:.0%}",
            totals["rss_growth"] < RSS_GROWTH_TARGET,
            False,
        ),
        (
            "host threads",
            f"{start['threads']} -> {end['threads']}",
            "no growth",
            end["threads"] <= start["threads"],
            False,
        ),
        (
            "host open fds",
            f"{start['open_fds']} -> {end['open_fds']}",
            "no growth",
            end["open_fds"] <= start["open_fds"],
            False,
        ),
    ]


def render(results: dict[str, Any]) -> str:
    totals, settings = results["totals"], results["settings"]
    lines = [
        describe_machine(results["machine"]),
        f"{settings['clients']} client processes, {settings['duration_s']} s measured after {settings['warmup_s']} s "
        f"warm-up: {totals['calls_measured']:,} calls ({totals['calls_per_second']:,.0f}/s), "
        f"{totals['calls_total']:,} in all; {totals['writes']:,} counter writes, "
        f"{totals['watch_events']:,} watch events; host exit code {totals['host_exit_code']}",
        "",
        text_table(
            ["call", "calls", "p50 ms", "p99 ms"],
            [
                [kind, f"{row['calls']:,}", _ms(row["p50_ms"]), _ms(row["p99_ms"])]
                for kind, row in results["by_kind"].items()
            ]
            + [["all", f"{totals['calls_measured']:,}", _ms(totals["p50_ms"]), _ms(totals["p99_ms"])]],
        ),
        "",
        text_table(
            ["target", "measured", "target", "result"],
            [[what, measured, goal, "pass" if met else "FAIL"] for what, measured, goal, met, _ in targets(results)],
        ),
    ]
    if results["error_samples"]:
        lines += ["", "first errors:", *(f"  {sample}" for sample in results["error_samples"])]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured after the warm-up (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes (default 8)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    results = soak(args.clients, args.duration, args.warmup)
    print(render(results))
    path = write_results("soak", results, args.results_dir)
    print(f"\nresults: {path}")
    return 0 if all(met for _, _, _, met, correctness in targets(results) if correctness) else 1


if __name__ == "__main__":
    sys.exit(main())
