"""The README's `serve` options table names every option `snakepit-host serve --help` shows."""

from __future__ import annotations

import os
import re

from plugin_packages import ROOT, run_cli

README = ROOT / "README.md"


def documented_serve_options() -> set[str]:
    """Options in the first column of the README's `serve` options table (``--heartbeat-*`` kept as a prefix)."""
    section = README.read_text().split("`serve` options", 1)[1].split("\n\n", 2)[1]
    return {option for row in section.splitlines() for option in re.findall(r"`(--[\w*-]+)", row.split("|")[1])}


def test_every_host_serve_option_is_in_the_readme_table() -> None:
    # Built-ins only: plugins document their own options in their READMEs.
    done = run_cli(["serve", "--help"], {**os.environ, "SNAKEPIT_PLUGINS": ""})
    assert done.returncode == 0, done.stderr
    shown = [re.findall(r"--[\w-]+", line) for line in done.stdout.splitlines() if re.match(r"\s+--", line)]
    documented = documented_serve_options()

    def is_documented(option: str) -> bool:
        return any(option == d or (d.endswith("*") and option.startswith(d[:-1])) for d in documented)

    missing = [aliases[0] for aliases in shown if not any(is_documented(option) for option in aliases)]
    assert missing == []
    assert len(shown) > 20  # the help was really read
