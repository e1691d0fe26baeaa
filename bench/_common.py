"""Helpers shared by the bench scripts: server processes, /proc readings, statistics, output.

Import from a script in ``bench/`` with ``from _common import ...`` (the
script's directory is on ``sys.path`` when it runs). Nothing here imports
the host, so a baseline measured with these helpers pays for none of it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]
"""Every bench client channel uses these, whatever server it talks to."""

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- server processes


UNSET_FOR_SERVERS = ("PYTHONDONTWRITEBYTECODE",)
"""Without .pyc files every start recompiles the modules that have none (new
plugin files, say): a deployed worker runs with its bytecode cached, so the
servers may write it (the first, unmeasured start of each does)."""


def bench_env(**extra: str) -> dict[str, str]:
    """The environment servers run in: ours without ``SNAKEPIT_*`` settings (which
    could restrict plugins or change limits) or :data:`UNSET_FOR_SERVERS`, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_") and k not in UNSET_FOR_SERVERS}
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A server started as a subprocess that announces ``GRPC_READY:<port>`` on stdout.

    ``ready_seconds`` is the time from just before spawning to reading that
    line: interpreter start, imports, plugin loading, bind and start.
    ``spawned_at`` is the wall clock (``time.time()``) just before spawning,
    to set against the host's own start-up timeline.
    """

    name: str
    process: subprocess.Popen[str]
    port: int
    ready_seconds: float
    spawned_at: float
    _stderr: IO[str] = field(repr=False)

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 60.0
    ) -> ServerProcess:
        stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115  (closed by stop())
        spawned_at = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else bench_env(),
            cwd=ROOT,
            text=True,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            port, ready = _read_ready_line(process)
        finally:
            watchdog.cancel()
        if port is None:
            process.kill()
            process.wait()
            stderr.seek(0)
            raise RuntimeError(
                f"{name} did not print GRPC_READY within {timeout:.0f}s (exit {process.returncode}):\n"
                f"  argv: {' '.join(argv)}\n  stderr:\n{stderr.read()[-4000:]}"
            )
        threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
        return cls(
            name=name,
            process=process,
            port=port,
            ready_seconds=ready - started,
            spawned_at=spawned_at,
            _stderr=stderr,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        return read_rss_bytes(self.pid)

    def cpu_seconds(self) -> float:
        return read_cpu_seconds(self.pid)

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_ready_line(process: subprocess.Popen[str]) -> tuple[int | None, float]:
    """The announced port and when its line was read (None if stdout closed first)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("GRPC_READY:"):
            return int(line.strip().split(":", 1)[1]), time.perf_counter()
    return None, time.perf_counter()


def _drain(stream: IO[str] | None) -> None:
    """Keep reading a server's stdout so it can never block on a full pipe."""
    if stream is None:
        return
    for _ in stream:
        pass


# ---------------------------------------------------------------- /proc readings


def read_rss_bytes(pid: int) -> int:
    """Resident set size (``VmRSS``) of a process, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds.

    The resolution is one clock tick (usually 10 ms): measure over runs of
    at least a few seconds of CPU.
    """
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        text = stat.read()
    # The command name (field 2) may contain spaces; fields after it are space-separated.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def read_task_cpu_seconds(pid: int) -> float:
    """CPU time of a process's live threads, in seconds, to the nanosecond (``/proc/<pid>/task/*/schedstat``).

    Far finer than :func:`read_cpu_seconds`, but a thread that has exited no
    longer counts: compare readings over a span in which the process's
    threads live on (a gRPC server's pool threads do).
    """
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as schedstat:
                total += int(schedstat.read().split()[0])
        except (OSError, ValueError, IndexError):  # the thread exited meanwhile
            continue
    return total / 1e9


# ---------------------------------------------------------------- statistics


def call_options(
    description: str | None,
    argv: Sequence[str] | None = None,
    *,
    calls: int = 2000,
    repeat: int = 7,
    warmup: int = 300,
    quick: tuple[int, int, int] = (200, 3, 50),
    repeat_means: str = "measurements per case, interleaved",
) -> argparse.Namespace:
    """The call benchmarks' options: ``--calls``, ``--repeat``, ``--warmup``; ``--quick`` sets them to ``quick``."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=calls, help=f"calls per measurement (default {calls})")
    parser.add_argument("--repeat", type=int, default=repeat, help=f"{repeat_means} (default {repeat})")
    parser.add_argument("--warmup", type=int, default=warmup, help=f"unmeasured calls first (default {warmup})")
    smoke = "--calls {} --repeat {} --warmup {}".format(*quick)
    parser.add_argument("--quick", action="store_true", help=f"a smoke run, rough figures: {smoke}")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.repeat, args.warmup = quick
    return args


def mean_us(function: Callable[[], Any], calls: int) -> float:
    """Mean microseconds of ``calls`` calls of ``function``."""
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


def interleaved(cases: Mapping[str, Callable[[], Any]], calls: int, repeat: int) -> dict[str, list[float]]:
    """Every case ``repeat`` times, in a rotating order, so drift of a shared machine hits all alike."""
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repeat):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(mean_us(cases[name], calls))
    return samples


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (``fraction`` in 0..1) of unsorted values."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Spread:
    """Median and spread of repeated measurements."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        samples = tuple(values)
        return cls(
            median=statistics.median(samples),
            low=min(samples),
            high=max(samples),
            q1=percentile(samples, 0.25),
            q3=percentile(samples, 0.75),
            samples=samples,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "q1": self.q1,
            "q3": self.q3,
            "samples": list(self.samples),
        }


def format_number(value: float) -> str:
    """Three significant figures, without scientific notation for ordinary sizes."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_spread(spread: Spread) -> str:
    """``median (min-max)``; just the median for a single sample."""
    if len(spread.samples) == 1:
        return format_number(spread.median)
    return f"{format_number(spread.median)} ({format_number(spread.low)}-{format_number(spread.high)})"


# ---------------------------------------------------------------- output


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    align = ["---", *["---:"] * (len(headers) - 1)]
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in cells) + " |" for cells in lines)


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    """What the figures depend on: cores, load, Python, grpcio, protobuf."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "grpcio": package_version("grpcio"),
        "protobuf": package_version("protobuf"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def describe_machine(info: Mapping[str, Any]) -> str:
    load = " ".join(str(x) for x in info["load_average"])
    return (
        f"machine: {info['usable_cores']}/{info['cores']} cores, load {load}, {info['platform']}\n"
        f"python {info['python']} ({info['implementation']}), grpcio {info['grpcio']}, protobuf {info['protobuf']}"
    )


def write_results(prefix: str, results: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write ``results`` as JSON to ``<directory>/<prefix>-<timestamp>.json`` (default ``bench/results/``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def save_run(
    prefix: str,
    machine: Mapping[str, Any],
    settings: Mapping[str, Any],
    directory: Path = RESULTS_DIR,
    **results: Any,
) -> Path:
    """Write one run's results after what every run records (which bench, when, the machine, its load
    afterwards, the settings) with :func:`write_results`, and print where."""
    stamped = {
        "bench": prefix,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "settings": settings,
        **results,
    }
    path = write_results(prefix, stamped, directory)
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def python() -> str:
    """The interpreter running the bench (the venv's), used for every server."""
    return sys.executable
