"""Calls shaped as Snakepit 0.13 makes them: the host against a bare grpcio server launched the same way.

``bench_host.py`` calls ``echo`` with a fixed session, no metadata and a
30 s deadline. Snakepit 0.13 does more around each worker and each call
(read from its code, /work/notes/snakepit-callpath.md Part A); this script
replays that from Python, with no Elixir:

- launch: ``<python> <script> --adapter snakepit_bridge.adapters.showcase.ShowcaseAdapter
  --port 0 --elixir-address <stand-in> --snakepit-run-id <id>`` with
  ``SNAKEPIT_READY_FILE``, ``SNAKEPIT_HEARTBEAT_CONFIG`` (dependent heartbeats
  every 2 s), ``SNAKEPIT_PROCESS_GROUP=1``, ``SNAKEPIT_LOG_LEVEL=error``,
  ``GRPC_POLL_STRATEGY=poll`` and the other variables 0.13 sets. The host's
  script is ``snakepit_host/grpc_server.py`` (what the launcher runs); the
  baseline is ``bench/bare_server.py``. An Elixir stand-in
  (:class:`snakepit_host.testing.elixir_standin.ElixirStandIn`) runs in its own
  process, so the host's calls to Elixir (heartbeats, tool announcements)
  cost what they cost.
- per worker, once: ``Ping("connection_test")``, ``InitializeSession`` of the
  worker's session ``session_<n>_<us>`` with 0.13's metadata and config,
  ``StreamTelemetry`` opened with a 5 s deadline and one ``toggle(true)`` (so
  it ends after 5 s, as with 0.13), ``Heartbeat`` every 2 s after each reply
  (10 s deadline), a health ``Ping`` every 30 s.
- per call: ``ExecuteTool(tool_name="ping", parameters={})`` with metadata
  ``correlation_id`` (``sp-`` + 24 hex), ``python_runtime_hash``,
  ``python_version``, ``python_platform``, the header
  ``x-snakepit-correlation-id``, user agent ``grpc-elixir/0.11.5`` and a
  240 s deadline (0.13 sends ``grpc-timeout: 4M``).

A pool of ``--workers`` (default 2) processes of each kind is started; calls
are sequential, one in flight, alternating over the pool's workers. Shapes,
each measured interleaved (bare, host, then host, bare...) in ``--repeat``
rounds of ``--calls`` calls:

- ``0.13``: what 0.13 sends (the worker's session on every call).
- ``0.13, session per call``: the same with a fresh ``session_<n>_<us>`` on
  every call: the premise of issue 14, and what callers with many session ids
  do (every one is a session the host creates implicitly).
- ``0.13, telemetry open``: the same as ``0.13`` while a StreamTelemetry stream
  without a deadline is open on every worker (an idealised client that keeps
  it; the host then sends its per-call events).
- ``plain``: ``ping`` with no metadata, no deadline, one session (today's
  ``bench_host.py`` shape, on workers launched the 0.13 way).

Reported per shape: p50 and p90 call latency at the client, the pool's CPU per
call (all threads, from ``/proc/<pid>/task/*/schedstat``), and the ratio
host/bare with its target (p50 <= 1.1 for ``0.13`` and ``0.13, session per
call``; the telemetry shape is shown without one: the host then sends three
events per call, which the bare server never does). Afterwards, from
the host's ``describe`` and the stand-in's request counts: the host's sessions,
its RSS, and every request it made to Elixir (which must not grow with the
number of sessions a call created).

    .venv/bin/python bench/bench_snakepit13.py            # about 3 minutes
    .venv/bin/python bench/bench_snakepit13.py --quick    # smoke run, ~30 s
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from _common import (
    BENCH_DIR,
    CHANNEL_OPTIONS,
    RESULTS_DIR,
    ROOT,
    ServerProcess,
    Spread,
    bench_env,
    describe_machine,
    format_number,
    format_spread,
    machine_info,
    markdown_table,
    percentile,
    python,
    read_rss_bytes,
    read_task_cpu_seconds,
    save_run,
    text_table,
)

from snakepit_host import codec
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

MiB = 1024 * 1024
CALL_TIMEOUT = 240.0  # grpc-elixir sends 298.8 s as "4M"
HEARTBEAT_INTERVAL = 2.0
HEARTBEAT_TIMEOUT = 10.0
HEALTH_INTERVAL = 30.0
TELEMETRY_OPEN_TIMEOUT = 5.0
USER_AGENT = "grpc-elixir/0.11.5"
ADAPTER = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
KINDS = ("bare", "host")
SCRIPTS = {"bare": BENCH_DIR / "bare_server.py", "host": ROOT / "snakepit_host" / "grpc_server.py"}
TARGET = 1.1
SHAPES: dict[str, str] = {
    "0.13": "what 0.13 sends: the worker's session, metadata, headers, deadline",
    "0.13, session per call": "the same with a fresh session id on every call",
    "0.13, telemetry open": "the same while a StreamTelemetry stream without a deadline is open",
    "plain": "ping with no metadata, no deadline, one session",
}
JUDGED = ("0.13", "0.13, session per call")
"""The shapes issue 14's target (p50 within 1.1x of bare) applies to. With the stream kept open the host sends
three events per call (work the bare server does not do): shown, not judged."""

STANDIN = """
import json, sys, threading
from collections import Counter
from snakepit_host.testing.elixir_standin import ElixirStandIn

class Counting(ElixirStandIn):
    '''Counts requests by method instead of keeping them; Ping("bench:counts") answers with the counts.'''
    def __init__(self):
        super().__init__()
        self.counts = Counter()
    def _record(self, method, request):
        with self.lock:
            self.counts[method] += 1
    def Ping(self, request, context):
        if request.message == "bench:counts":
            from snakepit_host.proto import snakepit_bridge_pb2 as pb
            with self.lock:
                return pb.PingResponse(message=json.dumps(dict(self.counts)))
        return super().Ping(request, context)

standin = Counting()
standin.start()
print("READY", standin.port, flush=True)
sys.stdin.read()
standin.stop()
"""


class BenchError(Exception):
    """A server answered wrongly: the figures would be meaningless."""


# ---------------------------------------------------------------- the Elixir stand-in


class ElixirProcess:
    """The stand-in in a process of its own (Elixir is not in the worker's process either)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [python(), "-c", STANDIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            raise BenchError(f"the Elixir stand-in did not start: {line!r}")
        self.address = f"127.0.0.1:{int(line.split()[1])}"
        self.channel = grpc.insecure_channel(self.address)
        self.stub: Any = pb_grpc.BridgeServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def counts(self) -> dict[str, int]:
        """Requests received so far, by method."""
        counts: dict[str, int] = json.loads(self.stub.Ping(pb.PingRequest(message="bench:counts"), timeout=10).message)
        return counts

    def stop(self) -> None:
        self.channel.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# ---------------------------------------------------------------- one worker, driven as 0.13 drives it


def runtime_metadata() -> dict[str, str]:
    """What 0.13 puts on every call besides the correlation id (PythonRuntime.runtime_metadata)."""
    with open(os.path.realpath(sys.executable), "rb") as interpreter:
        digest = hashlib.sha256(interpreter.read()).hexdigest()
    return {
        "python_runtime_hash": digest,
        "python_version": platform.python_version(),
        "python_platform": f"{platform.machine()}-pc-linux-gnu",
    }


_session_numbers = iter(range(2, 1 << 62))


def session_id() -> str:
    """A session id the way 0.13 makes one: ``session_<unique int>_<microseconds>``."""
    return f"session_{next(_session_numbers)}_{time.time_ns() // 1000}"


@dataclass
class Worker:
    """One worker process and the client side of 0.13's per-worker traffic."""

    kind: str
    index: int
    server: ServerProcess
    ready_file: Path
    session: str = field(default_factory=session_id)
    channel: grpc.Channel = field(init=False)
    stub: Any = field(init=False)
    telemetry_ended: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        options = [*CHANNEL_OPTIONS, ("grpc.primary_user_agent", USER_AGENT)]
        self.channel = grpc.insecure_channel(self.server.address, options=options)
        self.stub = pb_grpc.BridgeServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def handshake(self) -> None:
        """0.13's start sequence after the ready file: Ping, InitializeSession, telemetry, heartbeats."""
        deadline = time.monotonic() + 30
        while not self.ready_file.exists() and time.monotonic() < deadline:
            time.sleep(0.005)  # 0.13 polls the file (every 50 ms at most)
        written = self.ready_file.read_text().strip() if self.ready_file.exists() else None
        if written != str(self.server.port):
            raise BenchError(f"{self.kind} wrote {written!r} to its ready file, not port {self.server.port}")
        self.stub.Ping(pb.PingRequest(message="connection_test"), timeout=CALL_TIMEOUT)
        request = pb.InitializeSessionRequest(
            session_id=self.session,
            metadata={"elixir_node": "bench@127.0.0.1", "initialized_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")},
            config=pb.SessionConfig(enable_caching=True, cache_ttl_seconds=60, enable_telemetry=False),
        )
        if not self.stub.InitializeSession(request, timeout=CALL_TIMEOUT).success:
            raise BenchError(f"{self.kind} refused InitializeSession")
        self.open_telemetry(TELEMETRY_OPEN_TIMEOUT, self.telemetry_ended)
        threading.Thread(target=self._heartbeats, daemon=True).start()
        threading.Thread(target=self._health_checks, daemon=True).start()

    def open_telemetry(self, timeout: float | None, ended: threading.Event) -> Callable[[], None]:
        """Open StreamTelemetry, send toggle(true), read events until it ends; returns a cancel function."""
        hold = threading.Event()

        def controls() -> Iterator[pb.TelemetryControl]:
            yield pb.TelemetryControl(toggle=pb.TelemetryToggle(enabled=True))
            hold.wait()  # 0.13 never half-closes

        call = self.stub.StreamTelemetry(controls(), timeout=timeout)

        def read() -> None:
            try:
                for _ in call:
                    pass
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
                    self.errors.append(f"StreamTelemetry: {exc.code().name}")
            finally:
                hold.set()
                ended.set()

        threading.Thread(target=read, daemon=True).start()

        def cancel() -> None:
            call.cancel()
            ended.wait(10)

        return cancel

    def _heartbeats(self) -> None:
        request = pb.HeartbeatRequest(session_id=self.session)
        while not self.stop.is_set():
            try:
                if not self.stub.Heartbeat(request, timeout=HEARTBEAT_TIMEOUT).session_valid:
                    self.errors.append("Heartbeat: session_valid=false (0.13 would kill the worker)")
            except grpc.RpcError as exc:
                if self.stop.is_set():
                    return
                self.errors.append(f"Heartbeat: {exc.code().name}")
            self.stop.wait(HEARTBEAT_INTERVAL)

    def _health_checks(self) -> None:
        request = pb.PingRequest(message=f"health_check_#PID<0.{300 + self.index}.0>")
        while not self.stop.wait(HEALTH_INTERVAL):
            try:
                self.stub.Ping(request, timeout=5.0)
            except grpc.RpcError as exc:
                if not self.stop.is_set():
                    self.errors.append(f"health Ping: {exc.code().name}")

    def cpu_seconds(self) -> float:
        return read_task_cpu_seconds(self.server.pid)

    def close(self) -> None:
        self.stop.set()
        self.channel.close()
        self.server.stop()


class Call:
    """One shape's request builder: what varies per call (session, correlation id)."""

    def __init__(self, shape: str, metadata: dict[str, str]) -> None:
        self.shape = shape
        self.metadata = metadata

    def __call__(self, worker: Worker) -> None:
        if self.shape == "plain":
            request = pb.ExecuteToolRequest(session_id="bench", tool_name="ping")
            response = worker.stub.ExecuteTool(request)
        else:
            correlation = "sp-" + secrets.token_hex(12)
            sid = session_id() if self.shape == "0.13, session per call" else worker.session
            request = pb.ExecuteToolRequest(
                session_id=sid, tool_name="ping", metadata={"correlation_id": correlation, **self.metadata}
            )
            response = worker.stub.ExecuteTool(
                request, timeout=CALL_TIMEOUT, metadata=(("x-snakepit-correlation-id", correlation),)
            )
        if not response.success:
            raise BenchError(f"{worker.kind} ping failed: {response.error_message}")


# ---------------------------------------------------------------- pools and runs


def launch_env(run_dir: Path, worker: str, elixir: str) -> dict[str, str]:
    heartbeat = {
        "enabled": True,
        "interval_ms": 2000,
        "timeout_ms": 10000,
        "max_missed_heartbeats": 3,
        "initial_delay_ms": 0,
        "dependent": True,
    }
    return bench_env(
        SNAKEPIT_READY_FILE=str(run_dir / f"snakepit_ready_{worker}_{time.monotonic_ns()}"),
        SNAKEPIT_HEARTBEAT_CONFIG=json.dumps(heartbeat),
        SNAKEPIT_PROCESS_GROUP="1",
        SNAKEPIT_LOG_LEVEL="error",
        SNAKEPIT_PYTHON=python(),
        GRPC_POLL_STRATEGY="poll",
        GRPC_VERBOSITY="ERROR",
        PYTHONUNBUFFERED="1",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        NUMEXPR_NUM_THREADS="1",
        VECLIB_MAXIMUM_THREADS="1",
        SNAKEPIT_CACHE_DIR=str(run_dir / "cache"),  # a sqlite variables file, entry-point cache: the run's own
    )


def start_pool(kind: str, count: int, run_dir: Path, elixir: str, run_id: str) -> list[Worker]:
    workers = []
    for index in range(count):
        name = f"{kind}_worker_{index + 1}"
        env = launch_env(run_dir, name, elixir)
        argv = [
            python(),
            str(SCRIPTS[kind]),
            "--adapter",
            ADAPTER,
            "--port",
            "0",
            "--elixir-address",
            elixir,
            "--snakepit-run-id",
            run_id,
        ]
        server = ServerProcess.start(name, argv, env=env)
        worker = Worker(kind, index, server, Path(env["SNAKEPIT_READY_FILE"]))
        workers.append(worker)
        try:
            worker.handshake()
        except BaseException:
            for started in workers:
                started.close()
            raise
    return workers


def measure_shape(pool: list[Worker], call: Call, calls: int, warmup: int) -> dict[str, float]:
    for i in range(warmup):
        call(pool[i % len(pool)])
    samples = []
    cpu_before = sum(w.cpu_seconds() for w in pool)
    for i in range(calls):
        worker = pool[i % len(pool)]
        started = time.perf_counter()
        call(worker)
        samples.append(time.perf_counter() - started)
    cpu = sum(w.cpu_seconds() for w in pool) - cpu_before
    return {
        "p50_us": percentile(samples, 0.5) * 1e6,
        "p90_us": percentile(samples, 0.9) * 1e6,
        "cpu_per_call_us": cpu / calls * 1e6,
    }


def run(
    pools: dict[str, list[Worker]], shapes: Sequence[str], settings: argparse.Namespace, progress: Callable[[str], None]
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """samples[shape][kind][figure], in round order."""
    metadata = runtime_metadata()
    samples: dict[str, dict[str, dict[str, list[float]]]] = {}
    for round_number in range(settings.repeat):
        for shape in shapes:
            order = KINDS if round_number % 2 == 0 else KINDS[::-1]
            for kind in order:
                pool = pools[kind]
                cancels = []
                if shape == "0.13, telemetry open":
                    cancels = [w.open_telemetry(None, threading.Event()) for w in pool]
                    time.sleep(0.2)  # the streams are open before the calls start
                try:
                    figures = measure_shape(pool, Call(shape, metadata), settings.calls, settings.warmup)
                finally:
                    for cancel in cancels:
                        cancel()
                progress(
                    f"  round {round_number + 1}/{settings.repeat} {shape:24s} {kind}: "
                    + ", ".join(f"{k} {v:.4g}" for k, v in figures.items())
                )
                for key, value in figures.items():
                    samples.setdefault(shape, {}).setdefault(kind, {}).setdefault(key, []).append(value)
    return samples


def host_report(pool: list[Worker]) -> dict[str, Any]:
    """Sessions, RSS and the tools/variables status of the host workers, from their own describe."""
    report = []
    for worker in pool:
        request = pb.ExecuteToolRequest(session_id=worker.session, tool_name="describe")
        described = codec.decode_any(worker.stub.ExecuteTool(request, timeout=60).result)
        status = described.get("status", {})
        report.append(
            {
                "worker": worker.server.name,
                "sessions": described["sessions"]["count"],
                "rss_mib": read_rss_bytes(worker.server.pid) / MiB,
                "tools": status.get("tools"),
                "variables_store": (status.get("variables") or {}).get("store"),
                "telemetry": described.get("telemetry"),
            }
        )
    return {"workers": report}


# ---------------------------------------------------------------- output


def summary_rows(samples: dict[str, dict[str, dict[str, list[float]]]]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    rows, summary = [], []
    for shape, by_kind in samples.items():
        bare, host = by_kind["bare"], by_kind["host"]
        entry: dict[str, Any] = {"shape": shape}
        cells = [shape]
        for key in ("p50_us", "p90_us", "cpu_per_call_us"):
            b, h = Spread.of(bare[key]), Spread.of(host[key])
            paired = [hv / bv for hv, bv in zip(h.samples, b.samples, strict=True) if bv]
            ratio = h.median / b.median if b.median else float("nan")
            entry[key] = {"bare": b.as_dict(), "host": h.as_dict(), "ratio": ratio, "paired_ratios": paired}
            ratio_text = f"{ratio:.2f}" + (f" ({min(paired):.2f}-{max(paired):.2f})" if len(paired) > 1 else "")
            cells += [format_spread(b), format_spread(h), ratio_text]
        judged = shape in JUDGED
        entry["target"] = f"p50 <= {TARGET:g}" if judged else "-"
        entry["pass"] = entry["p50_us"]["ratio"] <= TARGET if judged else None
        cells += [entry["target"], {True: "pass", False: "FAIL", None: "-"}[entry["pass"]]]
        rows.append(cells)
        summary.append(entry)
    return rows, summary


HEADERS = (
    "shape",
    "bare p50 (us)",
    "host p50 (us)",
    "p50 host/bare",
    "bare p90",
    "host p90",
    "p90 host/bare",
    "bare CPU/call (us)",
    "host CPU/call",
    "CPU host/bare",
    "target",
    "result",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 300 calls (smoke use; figures are rough)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per shape (default 9; quick 2)")
    parser.add_argument("--calls", type=int, default=None, help="calls per shape, kind and round (default 1000)")
    parser.add_argument("--warmup", type=int, default=None, help="unmeasured calls first (default 200; quick 50)")
    parser.add_argument("--workers", type=int, default=2, help="pool size of each kind (default 2)")
    parser.add_argument(
        "--shape", action="append", default=[], choices=list(SHAPES), help="measure only these shapes (repeatable)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table for the README")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 9)  # many short rounds: the machine's drift hits all alike
    args.calls = args.calls or (300 if args.quick else 1000)
    args.warmup = args.warmup if args.warmup is not None else (50 if args.quick else 200)
    args.shapes = [s for s in SHAPES if s in args.shape] if args.shape else list(SHAPES)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_info()
    print(describe_machine(machine))
    print(
        f"pools of {args.workers} worker(s) per kind, launched as Snakepit 0.13 launches them; "
        f"{args.repeat} round(s) x {args.calls} calls per shape after {args.warmup} warm-up"
    )
    elixir = ElixirProcess()
    pools: dict[str, list[Worker]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-snakepit13-") as directory:
        run_dir = Path(directory)
        (run_dir / "cache").mkdir()
        try:
            started = {}
            for kind in KINDS:
                pools[kind] = start_pool(kind, args.workers, run_dir, elixir.address, secrets.token_hex(4)[:7])
                started[kind] = [w.server.ready_seconds * 1000 for w in pools[kind]]
            print(
                "spawn to ready (ms): "
                + "; ".join(f"{k} {', '.join(format_number(v) for v in vs)}" for k, vs in started.items())
            )
            # 0.13's telemetry streams end at their 5 s deadline: measure what follows, as a pool lives.
            for worker in [w for pool in pools.values() for w in pool]:
                worker.telemetry_ended.wait(TELEMETRY_OPEN_TIMEOUT + 5)
            sys.stdout.flush()
            samples = run(pools, args.shapes, args, lambda line: print(line, file=sys.stderr, flush=True))
            report = host_report(pools["host"])
            elixir_counts = elixir.counts()
            errors = [f"{w.server.name}: {e}" for pool in pools.values() for w in pool for e in w.errors]
        finally:
            for pool in pools.values():
                for worker in pool:
                    worker.close()
            elixir.stop()
    rows, summary = summary_rows(samples)
    print()
    print(text_table(HEADERS, rows))
    print("\nmedian (min-max) over rounds; ratios: of medians (range of per-round ratios)")
    for worker in report["workers"]:
        tools = worker["tools"] or {}
        print(
            f"{worker['worker']}: {worker['sessions']} sessions, RSS {worker['rss_mib']:.1f} MiB, "
            f"tools announced for {tools.get('announced_sessions', 0)} session(s), "
            f"variables store {worker['variables_store']}"
        )
    requests = ", ".join(f"{k} {v}" for k, v in sorted(elixir_counts.items()))
    print(f"requests the host workers made to Elixir: {requests}")
    for error in errors:
        print(f"ERROR {error}")
    save_run(
        "snakepit13",
        machine,
        {k: v for k, v in vars(args).items() if k != "results_dir"},
        args.results_dir,
        spawn_to_ready_ms=started,
        shapes=summary,
        host=report,
        elixir_requests=elixir_counts,
        errors=errors,
    )
    if args.markdown:
        print()
        print(markdown_table(HEADERS, rows))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
