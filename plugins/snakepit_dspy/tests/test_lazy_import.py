"""dspy is imported by the first DSPy command, not by host start, ``plugins`` or ``describe``.

Each check runs in a fresh interpreter, so nothing this test process
imported can hide an import the plugin makes.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import snakepit_dspy
from snakepit_dspy.catalog import COMMANDS

SERVE_AND_PROBE = textwrap.dedent(
    """
    import json, os, sys
    from snakepit_host.testing import running_host

    report = {}
    with running_host(entry_points=True) as running:
        client = running.client()
        described = client.call("describe", {})
        ours = [c for c in described["commands"] if c["owner"] == "dspy"]
        report["commands"] = sorted(c["name"] for c in ours)
        report["streaming"] = sorted(c["name"] for c in ours if c["streaming"])
        report["dspy_after_describe"] = "dspy" in sys.modules
        report["cost_map_env_at_start"] = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")
        client.call("configure_lm", {"model": "dummy", "answers": [{"answer": "Paris"}]})
        report["dspy_after_first_command"] = "dspy" in sys.modules
        report["cost_map_env"] = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")
        report["answer"] = client.call("enhanced_predict", {"signature": "q -> answer", "q": "x"})["outputs"]["answer"]
    print(json.dumps(report))
    """
)


def run_python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    environment.update(env)
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environment, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()[-1]


def test_host_start_and_describe_do_not_import_dspy() -> None:
    report = json.loads(run_python(SERVE_AND_PROBE))
    assert report["commands"] == sorted(spec.name for spec in COMMANDS)
    assert report["streaming"] == ["stream_chain_of_thought", "stream_predict_batch"]
    assert report["dspy_after_describe"] is False
    assert report["dspy_after_first_command"] is True
    assert report["answer"] == "Paris"
    # LiteLLM's offline cost map is chosen when DSPy is first imported, not in every worker at plugin import.
    assert report["cost_map_env_at_start"] is None
    assert report["cost_map_env"] == "True"


def test_user_setting_of_the_cost_map_variable_is_kept() -> None:
    report = json.loads(run_python(SERVE_AND_PROBE, LITELLM_LOCAL_MODEL_COST_MAP="False"))
    assert report["cost_map_env"] == "False"


def test_dspy_is_imported_in_one_place() -> None:
    """Only snakepit_dspy.dspy_import imports dspy, so the environment is always set before DSPy loads."""
    offenders = []
    for path in sorted(Path(snakepit_dspy.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            if any(name == "dspy" or name.startswith("dspy.") for name in names) and path.name != "dspy_import.py":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"import dspy through snakepit_dspy.dspy_import instead: {', '.join(offenders)}"


def test_plugins_listing_does_not_import_dspy() -> None:
    code = textwrap.dedent(
        """
        import contextlib, io, json, sys
        from snakepit_host.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["plugins", "--json"])
        listing = json.loads(out.getvalue())
        dspy = next(p for p in listing if p["name"] == "dspy")
        commands = dspy["provides"]["commands"]
        print(json.dumps({"status": dspy["status"], "commands": commands, "dspy": "dspy" in sys.modules}))
        """
    )
    report = json.loads(run_python(code))
    assert report == {"status": "loaded", "commands": sorted(spec.name for spec in COMMANDS), "dspy": False}
