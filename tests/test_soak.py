"""The soak runs end to end for a few seconds: no errors, no lost or reordered writes (no timing or memory judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOAK = ROOT / "bench" / "soak.py"
KINDS = {"echo", "set_variable", "GetVariable", "split_bill", "payment_schedule"}


def test_short_soak_loses_nothing(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(SOAK), "--duration", "3", "--warmup", "1", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    [written] = tmp_path.glob("soak-*.json")
    results = json.loads(written.read_text())
    totals = results["totals"]
    assert totals["errors"] == 0, results["error_samples"]
    assert totals["lost_writes"] == 0 and totals["reordered_writes"] == 0
    assert totals["host_exit_code"] == 0
    assert len(results["clients"]) == 8
    for client in results["clients"]:
        assert set(client["calls"]) == KINDS and client["writes"] > 0
        assert client["watch_last_version"] == client["writes"]  # the watch saw the last write
    assert "lost writes" in completed.stdout  # the table was printed
