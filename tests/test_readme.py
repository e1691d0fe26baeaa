"""The README's command-line tables name every sub-command and every option `--help` shows."""

from __future__ import annotations

import os
import re

from plugin_packages import ROOT, run_cli

from snakepit_host import cli

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


def command_table() -> dict[str, str]:
    """The first cell of each row of the README's "Command line" table, by sub-command."""
    section = README.read_text().split("## Command line", 1)[1].split("\n\n", 2)[1]
    cells = [row.split(" | ", 1)[0] for row in section.splitlines()[2:]]
    return {cell.split("`snakepit-host ", 1)[1].split()[0].rstrip("`"): cell for cell in cells}


def test_every_sub_command_and_its_own_options_are_in_the_readme_table() -> None:
    # serve's options have their own table (above); the plugin-selection options that
    # plugins, describe and call share are named once, under the table.
    _, parsers = cli.build_parser()
    shared = {"--help"} | {option for action in cli._plugin_options()._actions for option in action.option_strings}
    rows = command_table()
    assert set(rows) == set(cli.SUBCOMMANDS)
    own_options = {
        name: {action.option_strings[-1] for action in parser._actions if action.option_strings} - shared
        for name, parser in parsers.items()
        if name != "serve"
    }
    missing = {name: sorted(o for o in options if o not in rows[name]) for name, options in own_options.items()}
    assert all(not options for options in missing.values()), missing
    assert own_options["call"] >= {"--params", "--timeout"}  # the parsers were really read
