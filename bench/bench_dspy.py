"""What snakepit-dspy costs: host start-up and memory with and without it, and per-call overhead.

Part 1, start-up (real ``snakepit-host serve`` subprocesses, interleaved in
one run: without, with, without, with, ...). "Without" is the same install
with ``SNAKEPIT_DISABLE_PLUGINS=dspy``. For each process:

- cold start: spawn -> ``GRPC_READY`` line;
- RSS after a ``ping``;
- with the plugin, also the first DSPy command (``configure_lm`` with the
  dummy model, which imports dspy) and the RSS after it.

Part 2, per-call overhead, against a host subprocess, each versus a bare
``dspy.Predict`` call in this process on the same kind of scripted dummy LM
(both built by ``snakepit_dspy.scripted.scripted_lm``):

- ``enhanced_predict`` (seed form: the signature and the inputs as parameters);
- ``call_dspy`` on a stored ``Predict`` (``module_path "stored.<id>"``,
  ``function_name "__call__"``, as DSPex calls it), the instance constructed
  once beforehand.

``ping`` over the same channel is shown as the transport's share. Each is
printed as microseconds and as the ratio to the in-process call.

    .venv/bin/python bench/bench_dspy.py              # ~1 minute
    .venv/bin/python bench/bench_dspy.py --quick      # smoke run
    .venv/bin/python bench/bench_dspy.py --repeat 9 --calls 1000
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from _common import (
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

from snakepit_host.host_client import SnakepitClient

MiB = 1024 * 1024
SERVE = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--log-level", "warning"]
SIGNATURE = "question -> answer"


class BenchError(Exception):
    """A server answered wrongly: the figures would be meaningless."""


def answers(count: int) -> list[dict[str, str]]:
    return [{"answer": f"answer {i}"} for i in range(count)]


def dspy_commands(client: SnakepitClient) -> set[str]:
    return {c["name"] for c in client.call("describe", {})["commands"] if c["owner"] == "dspy"}


# ---------------------------------------------------------------- part 1: start-up and memory


def startup_once(with_plugin: bool) -> dict[str, float]:
    env = bench_env() if with_plugin else bench_env(SNAKEPIT_DISABLE_PLUGINS="dspy")
    name = "with dspy" if with_plugin else "without dspy"
    figures: dict[str, float] = {}
    with ServerProcess.start(name, SERVE, env=env) as server, SnakepitClient(server.address) as client:
        figures["cold_start_ms"] = server.ready_seconds * 1000
        client.call("ping", {})
        figures["rss_mb"] = server.rss_bytes() / MiB
        listed = dspy_commands(client)
        if with_plugin != ("enhanced_predict" in listed):
            raise BenchError(f"{name}: describe lists DSPy commands {sorted(listed)}")
        if with_plugin:
            started = time.perf_counter()
            client.call("configure_lm", {"model": "dummy", "answers": answers(1)})
            figures["first_dspy_command_ms"] = (time.perf_counter() - started) * 1000
            figures["rss_after_dspy_mb"] = server.rss_bytes() / MiB
    return figures


def startup(repeat: int) -> dict[str, dict[str, Spread]]:
    samples: dict[str, dict[str, list[float]]] = {"without": {}, "with": {}}
    for index in range(repeat):
        order = (False, True) if index % 2 == 0 else (True, False)
        for with_plugin in order:
            for key, value in startup_once(with_plugin).items():
                samples["with" if with_plugin else "without"].setdefault(key, []).append(value)
    return {kind: {key: Spread.of(values) for key, values in figures.items()} for kind, figures in samples.items()}


# ---------------------------------------------------------------- part 2: per-call overhead


def timed_calls(call: Callable[[], Any], count: int) -> list[float]:
    """Microseconds per call, one sample per call."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def bare_predict(calls: int, warmup: int) -> list[float]:
    import dspy
    from snakepit_dspy.scripted import scripted_lm

    lm = scripted_lm(answers(calls + warmup), {})
    predictor = dspy.Predict(SIGNATURE)
    adapter = dspy.ChatAdapter(use_json_adapter_fallback=False)

    def call() -> None:
        # The settings enhanced_predict runs a dummy LM with (snakepit_dspy.module_runner.using_lm).
        with dspy.context(lm=lm, adapter=adapter, disable_history=True):
            predictor(question="What is the answer?")

    timed_calls(call, warmup)
    return timed_calls(call, calls)


SERVED = ("enhanced", "stored", "ping")
"""The calls timed against the host: enhanced_predict, call_dspy on a stored Predict, ping."""


def served_calls(calls: int, warmup: int) -> dict[str, list[float]]:
    """Microseconds per call of each of :data:`SERVED` against one host subprocess."""
    with ServerProcess.start("with dspy", SERVE, env=bench_env()) as server, SnakepitClient(server.address) as client:
        scripted = answers(2 * (calls + warmup))
        client.call("configure_lm", {"model": "dummy", "answers": scripted}, session_id="bench")
        expected = iter(scripted)
        constructor = {"module_path": "dspy.Predict", "function_name": "__init__", "args": [], "kwargs": {}}
        constructor["kwargs"] = {"signature": SIGNATURE}
        instance = client.call("call_dspy", constructor, session_id="bench")["instance_id"]
        question = "What is the answer?"
        stored = {"module_path": f"stored.{instance}", "function_name": "__call__", "args": [], "kwargs": {}}
        stored["kwargs"] = {"question": question}

        def checked(command: str, params: dict[str, Any]) -> Callable[[], None]:
            def call() -> None:
                result = client.call(command, params, session_id="bench")
                if result.get("success") is not True or result["result"] != next(expected):
                    raise BenchError(f"{command} answered {result!r:.300}")

            return call

        cases = {
            "enhanced": checked("enhanced_predict", {"signature": SIGNATURE, "question": question}),
            "stored": checked("call_dspy", stored),
            "ping": lambda: client.call("ping", {}, session_id="bench"),
        }
        for call in cases.values():
            timed_calls(call, warmup)
        return {name: timed_calls(call, calls) for name, call in cases.items()}


def overhead(calls: int, warmup: int, repeat: int) -> dict[str, Spread]:
    """Median microseconds per call of each run, over ``repeat`` runs, and the ratios to the in-process call."""
    runs: dict[str, list[float]] = {"bare": [], **{name: [] for name in SERVED}}
    for _ in range(repeat):
        runs["bare"].append(Spread.of(bare_predict(calls, warmup)).median)
        for name, samples in served_calls(calls, warmup).items():
            runs[name].append(Spread.of(samples).median)
    figures = {key: Spread.of(values) for key, values in runs.items()}
    for name in ("enhanced", "stored"):
        pairs = list(zip(runs[name], runs["bare"], runs["ping"], strict=True))
        figures[f"{name}_overhead"] = Spread.of(served - bare for served, bare, _ in pairs)
        figures[f"{name}_beyond_transport"] = Spread.of(served - bare - ping for served, bare, ping in pairs)
        figures[f"{name}_ratio"] = Spread.of(served / bare for served, bare, _ in pairs)
    figures["ping_ratio"] = Spread.of(ping / bare for ping, bare in zip(runs["ping"], runs["bare"], strict=True))
    return figures


# ---------------------------------------------------------------- output


def report(start: dict[str, dict[str, Spread]], calls: dict[str, Spread]) -> str:
    without, with_ = start["without"], start["with"]
    rows = [
        ["cold start, ms", format_spread(without["cold_start_ms"]), format_spread(with_["cold_start_ms"])],
        ["RSS after ping, MiB", format_spread(without["rss_mb"]), format_spread(with_["rss_mb"])],
        ["first DSPy command, ms", "-", format_spread(with_["first_dspy_command_ms"])],
        ["RSS after first DSPy command, MiB", "-", format_spread(with_["rss_after_dspy_mb"])],
    ]

    def ratio(name: str) -> str:
        return format_spread(calls[f"{name}_ratio"]) + "x"

    call_rows = [
        ["bare dspy.Predict (in process)", format_spread(calls["bare"]), "1x"],
        ["enhanced_predict over gRPC", format_spread(calls["enhanced"]), ratio("enhanced")],
        ["call_dspy on a stored Predict over gRPC", format_spread(calls["stored"]), ratio("stored")],
        ["ping over gRPC (transport)", format_spread(calls["ping"]), ratio("ping")],
        ["overhead: enhanced_predict - bare", format_spread(calls["enhanced_overhead"]), ""],
        ["  beyond transport: - ping", format_spread(calls["enhanced_beyond_transport"]), ""],
        ["overhead: stored call_dspy - bare", format_spread(calls["stored_overhead"]), ""],
        ["  beyond transport: - ping", format_spread(calls["stored_beyond_transport"]), ""],
    ]
    return (
        "start-up, median (min-max) over processes\n"
        + text_table(["", "without dspy", "with dspy"], rows)
        + "\n\nper call, microseconds: median of each run's median (min-max over runs); ratio to the in-process call\n"
        + text_table(["", "us/call", "ratio"], call_rows)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = call_options(
        __doc__,
        argv,
        calls=300,
        repeat=5,
        warmup=30,
        quick=(50, 2, 10),
        repeat_means="processes per kind, and overhead runs",
    )
    info = machine_info()
    print(describe_machine(info))
    start = startup(args.repeat)
    calls = overhead(args.calls, args.warmup, args.repeat)
    print(report(start, calls))
    save_run(
        "dspy",
        info,
        vars(args),
        startup={kind: {k: s.as_dict() for k, s in figures.items()} for kind, figures in start.items()},
        per_call_us={k: s.as_dict() for k, s in calls.items()},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
