"""What observability costs: tracing off and on against bare grpcio, and the per-call pieces in process.

Four servers, each a real subprocess on 127.0.0.1, measured interleaved in
one run, a fresh process per repetition, with bench_host's client:

- ``bare``: bench/bare_server.py (the baseline);
- ``host``: built-ins only (``--plugins ''``): correlation scope and call
  statistics, no snakepit-otel;
- ``otel off``: snakepit-otel installed and loaded, not enabled
  (``--plugins otel``): must cost what ``host`` costs, and import nothing of
  OpenTelemetry (its start-up and RSS are the check);
- ``otel on``: ``--plugins otel --otel`` with ``OTEL_TRACES_EXPORTER=none``:
  every call gets its server span (attributes, context, ids), which are then
  dropped, so the figure is the tracing itself, not an exporter's network I/O
  (OTLP exports in a background thread, in batches).

Per server: cold start, RSS after ready, echo p50 latency from one client
and the server's CPU per call. Ratios are to bare, of the medians.

In process (no gRPC): the microseconds of recording one call in the
statistics, of a call scope's enter and exit (context variable, statistics,
no observer), of a ``with span(...)`` when nothing traces, and of making a
log record with and without the stamping factory.

    .venv/bin/python bench/bench_observability.py            # ~2 minutes
    .venv/bin/python bench/bench_observability.py --quick    # smoke run
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from _common import (
    BENCH_DIR,
    ServerProcess,
    Spread,
    bench_env,
    call_options,
    describe_machine,
    format_spread,
    machine_info,
    python,
    save_run,
    text_table,
)
from bench_host import EchoClient, echo_request, latency_run

MiB = 1024 * 1024
SERVERS: dict[str, tuple[list[str], dict[str, str]]] = {
    "bare": ([python(), str(BENCH_DIR / "bare_server.py"), "--port", "0"], {}),
    "host": ([python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", ""], {}),
    "otel off": ([python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "otel"], {}),
    "otel on": (
        [python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "otel", "--otel"],
        {"OTEL_TRACES_EXPORTER": "none"},
    ),
}
METRICS = (
    ("cold_start_ms", "cold start to ready (ms)"),
    ("rss_mib", "RSS after ready (MiB)"),
    ("p50_us", "echo p50 latency (us)"),
    ("cpu_per_call_us", "server CPU per call (us)"),
)


def measure(kind: str, calls: int, warmup: int) -> dict[str, float]:
    argv, extra = SERVERS[kind]
    with ServerProcess.start(kind, argv, env=bench_env(**extra)) as server:
        figures = {"cold_start_ms": server.ready_seconds * 1000}
        client = EchoClient(server.address)
        try:
            client.check_echo(echo_request())
            figures["rss_mib"] = server.rss_bytes() / MiB
            request = echo_request()
            for _ in range(warmup):
                client.call(request)
            run = latency_run(client, server, calls)
        finally:
            client.close()
    figures["p50_us"], figures["cpu_per_call_us"] = run["p50_us"], run["cpu_per_call_us"]
    return figures


def servers(repeat: int, calls: int, warmup: int, progress: Callable[[str], None]) -> dict[str, dict[str, list[float]]]:
    kinds = list(SERVERS)
    samples: dict[str, dict[str, list[float]]] = {}
    for rep in range(repeat):
        shift = rep % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            figures = measure(kind, calls, warmup)
            progress(f"  rep {rep + 1}/{repeat} {kind}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items()))
            for key, value in figures.items():
                samples.setdefault(key, {}).setdefault(kind, []).append(value)
    return samples


# ---------------------------------------------------------------- in process


def per_call_us(function: Callable[[], Any], calls: int, repeat: int) -> float:
    """The least, over ``repeat`` rounds, of the mean microseconds per call (as ``timeit`` advises: the
    other rounds measured the machine's other work too)."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return min(rounds)


def in_process(calls: int, repeat: int) -> dict[str, float]:
    from snakepit_host import span
    from snakepit_host._calls import CallScope
    from snakepit_host._log_records import stamp_records
    from snakepit_host.proto import snakepit_bridge_pb2 as pb
    from snakepit_host.testing import running_host

    with running_host() as running:
        host = running.host
        request = pb.ExecuteToolRequest(tool_name="echo", metadata={"correlation_id": "sp-0123456789abcdef01234567"})

        def scope() -> None:
            with CallScope(host, "ExecuteTool", request, None):  # type: ignore[arg-type]
                pass

        def null_span() -> None:
            with span("step", {"a": 1}):
                pass

        logger = logging.getLogger("bench.records")

        def record() -> None:
            logger.makeRecord("bench.records", logging.INFO, __file__, 1, "message %s", ("x",), None)

        results = {
            "stats.record": per_call_us(lambda: host.call_stats.record("echo", 0.0005, True), calls, repeat),
            "call scope enter+exit (no observer)": per_call_us(scope, calls, repeat),
            "with span() untraced": per_call_us(null_span, calls, repeat),
        }
        plain_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(logging.LogRecord)
        results["log record, plain factory"] = per_call_us(record, calls, repeat)
        logging.setLogRecordFactory(plain_factory)
        stamp_records()

        def record_in_call() -> None:
            with CallScope(host, "ExecuteTool", request, None):  # type: ignore[arg-type]
                for _ in range(10):
                    record()

        results["log record, stamping factory, in a call"] = (
            per_call_us(record_in_call, calls // 10, repeat) - results["call scope enter+exit (no observer)"]
        ) / 10
    return results


# ---------------------------------------------------------------- output


def main(argv: Sequence[str] | None = None) -> int:
    args = call_options(
        __doc__, argv, calls=3000, repeat=5, warmup=300, quick=(300, 1, 50), repeat_means="fresh processes per server"
    )
    info = machine_info()
    print(describe_machine(info), flush=True)
    samples = servers(args.repeat, args.calls, args.warmup, lambda line: print(line, flush=True))
    headers = ["metric", *SERVERS, "host/bare", "otel off/bare", "otel on/bare"]
    rows = []
    for key, label in METRICS:
        spreads = {kind: Spread.of(samples[key][kind]) for kind in SERVERS}
        bare = spreads["bare"].median
        ratios = [f"{spreads[kind].median / bare:.2f}" if bare else "n/a" for kind in ("host", "otel off", "otel on")]
        rows.append([label, *(format_spread(spreads[kind]) for kind in SERVERS), *ratios])
    print()
    print(text_table(headers, rows))
    micro = in_process(20_000 if not args.quick else 2_000, 5 if not args.quick else 2)
    print()
    print(text_table(["in process", "us per call"], [[name, f"{value:.3f}"] for name, value in micro.items()]))
    save_run("observability", info, vars(args), servers=samples, in_process=micro)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
