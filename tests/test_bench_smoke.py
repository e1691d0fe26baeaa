"""The benchmarks run end to end in their smallest modes (no timing is judged here)."""

from __future__ import annotations

from pathlib import Path

from bench_runs import run_bench


def test_bench_host_quick_latency_prints_a_table(tmp_path: Path) -> None:
    out, results = run_bench("bench_host.py", "--quick", "--only", "latency", tmp_path=tmp_path)
    assert "metric" in out and "ratio host/bare" in out
    for label in ("echo p50 latency", "echo p99 latency", "server CPU per call"):
        assert label in out
    assert "cold start" not in out  # --only latency measures only the latency group
    assert "host plugins (load ms): core" in out
    assert results["bench"] == "host"
    assert [m["metric"] for m in results["metrics"]] == ["p50_us", "p99_us", "cpu_per_call_us"]
    for metric in results["metrics"]:
        assert len(metric["bare"]["samples"]) == len(metric["host"]["samples"]) == 1
        assert metric["bare"]["median"] >= 0 and metric["host"]["median"] >= 0


def test_bench_snakepit13_replays_013_against_bare(tmp_path: Path) -> None:
    args = ("--quick", "--shape", "0.13", "--shape", "0.13, session per call", "--calls", "40", "--repeat", "1")
    out, results = run_bench("bench_snakepit13.py", *args, tmp_path=tmp_path)
    assert "0.13, session per call" in out and "p50 host/bare" in out
    assert [s["shape"] for s in results["shapes"]] == ["0.13", "0.13, session per call"]
    assert results["errors"] == []
    requests = results["elixir_requests"]
    assert requests["RegisterTools"] == 2  # one per worker session, none per throwaway one


def test_bench_growth_quick(tmp_path: Path) -> None:
    out, results = run_bench("bench_growth.py", "--quick", tmp_path=tmp_path)
    for heading in ("third-party plugins", "idle sessions", "echo round trip against payload size"):
        assert heading in out
    plugins = results["results"]["plugins"]
    assert [plugins[str(n)]["plugins"] for n in (0, 5, 25)] == [plugins["0"]["plugins"] + n for n in (0, 5, 25)]
