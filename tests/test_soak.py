"""The soak runs end to end for a few seconds: no errors, no lost or reordered writes (no timing or memory judged)."""

from __future__ import annotations

from pathlib import Path

from bench_runs import run_bench

KINDS = {"echo", "set_variable", "GetVariable", "split_bill", "payment_schedule"}


def test_short_soak_loses_nothing(tmp_path: Path) -> None:
    out, results = run_bench("soak.py", "--duration", "3", "--warmup", "1", tmp_path=tmp_path)
    totals = results["totals"]
    assert totals["errors"] == 0, results["error_samples"]
    assert totals["lost_writes"] == 0 and totals["reordered_writes"] == 0
    assert totals["host_exit_code"] == 0
    assert len(results["clients"]) == 8
    for client in results["clients"]:
        assert set(client["calls"]) == KINDS and client["writes"] > 0
        assert client["watch_last_version"] == client["writes"]  # the watch saw the last write
    assert "lost writes" in out  # the table was printed
