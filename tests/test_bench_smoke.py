"""The host benchmark runs end to end in its smallest mode (no timing is judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "bench_host.py"


def test_bench_host_quick_latency_prints_a_table(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "latency", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    out = completed.stdout
    assert "metric" in out and "ratio host/bare" in out
    for label in ("echo p50 latency", "echo p99 latency", "server CPU per call"):
        assert label in out
    assert "cold start" not in out  # --only latency measures only the latency group
    assert "host plugins (load ms): core" in out
    [written] = tmp_path.glob("host-*.json")
    results = json.loads(written.read_text())
    assert [m["metric"] for m in results["metrics"]] == ["p50_us", "p99_us", "cpu_per_call_us"]
    for metric in results["metrics"]:
        assert len(metric["bare"]["samples"]) == len(metric["host"]["samples"]) == 1
        assert metric["bare"]["median"] >= 0 and metric["host"]["median"] >= 0
