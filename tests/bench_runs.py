"""Run a bench script end to end, as its users do, and read the one JSON file it wrote (no timing is judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """``bench/<script> *args --results-dir tmp_path``: what it printed and the results it wrote there."""
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    [written] = tmp_path.glob("*.json")
    return completed.stdout, json.loads(written.read_text())
