"""The edges a newcomer hits first (issue 17), through the real ``snakepit-host`` console script.

Every failure is one ``error: ...`` line (or argparse's usage and one line)
with the documented exit status, never a traceback; a reader that stops
early (``| head``) ends a command quietly; the non-serving commands print
only their output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostproc import HostProcess
from plugin_packages import SNAKEPIT_HOST

from snakepit_host.cli import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_PLUGIN_ERROR, EXIT_USAGE
from snakepit_host.host_client import SnakepitClient

Spawn = Callable[..., HostProcess]
NOBODY = "127.0.0.1:1"  # nothing listens on port 1

STREAMING_PLUGIN = """
from snakepit_host import hookimpl

def count(ctx, params):
    for i in range(int(params["n"])):
        if i == params.get("fail_at"):
            raise ValueError(f"gave up at {i}")
        yield {"i": i}

@hookimpl
def register_commands(register):
    register.command("count", count, streaming=True)
"""


def environment(**settings: str) -> dict[str, str]:
    """The shell's environment without its SNAKEPIT_* settings (the discovery cache stays the test session's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEPIT_") or k == "SNAKEPIT_CACHE_DIR"}
    return {**env, **settings}


def cli(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SNAKEPIT_HOST, *args], env=environment(**settings), capture_output=True, text=True, timeout=60, check=False
    )


def one_error_line(done: subprocess.CompletedProcess[str], status: int) -> str:
    """The single ``error: ...`` line of a failed command, after checking its status and that nothing else came."""
    assert done.returncode == status, (done.returncode, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def usage_error(done: subprocess.CompletedProcess[str], command: str) -> str:
    """argparse's answer for ``command``: its usage, then one ``snakepit-host COMMAND: error: ...`` line."""
    assert done.returncode == EXIT_USAGE and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"usage: snakepit-host {command} "), done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"snakepit-host {command}: error: "), done.stderr
    return last


@pytest.fixture
def streaming_host(spawn_host: Spawn, tmp_path: Path) -> Iterator[str]:
    """A served host (text errors) with the streaming command ``count``; yields its address."""
    (tmp_path / "counting.py").write_text(STREAMING_PLUGIN)
    argv = [SNAKEPIT_HOST, "serve", "--port", "0", "--adapter", "counting", "--plugins", "adapter"]
    host = spawn_host(argv, {"PYTHONPATH": str(tmp_path)})
    yield f"127.0.0.1:{host.wait_ready()}"
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0


# ---------------------------------------------------------------- tracebacks a user should never see


@pytest.mark.parametrize(
    "args",
    [
        ["describe", "--address", NOBODY],
        ["call", "ping", "--address", NOBODY],
        ["call", "n", "--stream", "--address", NOBODY],
    ],
    ids=["describe", "call", "call --stream"],
)
def test_no_host_at_the_address_is_one_line(args: list[str]) -> None:
    line = one_error_line(cli(*args), EXIT_FAILURE)
    assert line.startswith(f"error: no host answers at {NOBODY} (UNAVAILABLE: "), line


def test_an_unreadable_binary_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    line = one_error_line(cli("call", "echo", "--local", "--binary", f"data=@{missing}"), EXIT_USAGE)
    assert line == f"error: --binary data: cannot read {missing}: No such file or directory"


def test_an_unwritable_output_file_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00" * 100)
    target = tmp_path / "no-such-folder" / "out.bin"
    done = cli("call", "echo", "--local", "--binary", f"data=@{source}", "--output", str(target))
    assert one_error_line(done, EXIT_FAILURE) == f"error: --output: cannot write {target}: No such file or directory"


def run_into_closed_pipe(args: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a real pipe whose reader has already gone: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [SNAKEPIT_HOST, *args],
            env=environment(**settings),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    return subprocess.CompletedProcess(done.args, done.returncode, "", done.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["describe"],
        ["plugins"],
        ["plugins", "--json"],
        ["call", "echo", "--local", "--params", '{"x": 1}'],
        ["call", "payment_schedule", "--local", "--stream", "--params", '{"amount": "9", "months": 600}'],
        ["version"],
        ["script-path"],
        ["serve", "--help"],
    ],
    ids=lambda args: " ".join(args[:3]),
)
def test_a_reader_that_left_ends_the_command_quietly(args: list[str]) -> None:
    done = run_into_closed_pipe(args)
    assert (done.returncode, done.stderr) == (EXIT_OK, "")


def test_describe_piped_into_head(streaming_host: str) -> None:
    pipeline = f"'{SNAKEPIT_HOST}' describe --address {streaming_host} | head -1; echo \"status ${{PIPESTATUS[0]}}\""
    done = subprocess.run(
        ["bash", "-c", pipeline], env=environment(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "{\nstatus 0\n" and done.stderr == "", done.stderr


def test_a_long_stream_piped_into_head_stops_and_the_host_serves_on(streaming_host: str) -> None:
    # 10 million chunks would take minutes: the CLI must stop when head has its line.
    command = [SNAKEPIT_HOST, "call", "count", "--stream", "--params", '{"n": 10000000}', "--address", streaming_host]
    writer = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = subprocess.run(
        ["head", "-1"], stdin=writer.stdout, capture_output=True, text=True, timeout=60, check=False
    )
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.close()
    assert writer.wait(timeout=30) == EXIT_OK
    assert writer.stderr.read() == "" and reader.stdout == '{"i": 0}\n'
    with SnakepitClient(streaming_host, timeout=10) as client:
        assert client.call("echo", {"still": "serving"}) == {"still": "serving"}


# ---------------------------------------------------------------- one error format, unary or streamed


def test_unary_and_streamed_errors_read_the_same(streaming_host: str) -> None:
    unary = one_error_line(cli("call", "cuont", "--address", streaming_host), EXIT_FAILURE)
    streamed = one_error_line(cli("call", "cuont", "--stream", "--address", streaming_host), EXIT_FAILURE)
    assert unary == streamed and unary.startswith("error: unknown command 'cuont'; did you mean count?"), unary
    # An error after the first chunk (an error chunk) reads the same way, after the chunks before it.
    done = cli("call", "count", "--stream", "--params", '{"n": 5, "fail_at": 2}', "--address", streaming_host)
    assert done.returncode == EXIT_FAILURE and done.stdout.splitlines() == ['{"i": 0}', '{"i": 1}']
    assert done.stderr == "error: ValueError: gave up at 2\n"
    local = one_error_line(cli("call", "cuont", "--local"), EXIT_FAILURE)
    assert local.startswith("error: unknown command 'cuont'"), local


def test_json_error_format_prints_the_same_line(spawn_host: Spawn) -> None:
    # A worker launched by Snakepit 0.13 answers in JSON; a user checking it reads the message.
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0", "--plugins", "", "--error-format", "json"])
    address = f"127.0.0.1:{host.wait_ready()}"
    line = one_error_line(cli("call", "list_tools", "--address", address), EXIT_FAILURE)
    streamed = one_error_line(cli("call", "list_tools", "--stream", "--address", address), EXIT_FAILURE)
    assert line == streamed
    # Item 3's wording, as a CLI user sees it: which distribution, and what is really the case.
    assert line.startswith("error: unknown command 'list_tools'") and line.endswith(
        "it comes with snakepit-tools (plugin 'tools'), which is disabled on this worker (--plugins, --disable-plugin)"
    ), line
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0


SLEEPY_PLUGIN = """
import time
from pathlib import Path
from snakepit_host import hookimpl

def nap(ctx, params):
    Path(params["marker"]).write_text("called")
    time.sleep(float(params["seconds"]))

@hookimpl
def register_commands(register):
    register.command("nap", nap)
"""


def test_a_slow_host_and_an_interrupted_call(spawn_host: Spawn, tmp_path: Path) -> None:
    (tmp_path / "sleepy.py").write_text(SLEEPY_PLUGIN)
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0", "--adapter", "sleepy"], {"PYTHONPATH": str(tmp_path)})
    address = f"127.0.0.1:{host.wait_ready()}"
    marker = tmp_path / "called"
    params = json.dumps({"marker": str(marker), "seconds": 3})
    line = one_error_line(
        cli("call", "nap", "--params", params, "--address", address, "--timeout", "0.5"), EXIT_FAILURE
    )
    assert line == f"error: no answer from {address} within 0.5 s (--timeout)"
    # Ctrl-C while a call waits: status 130, no traceback.
    marker.unlink()
    command = [SNAKEPIT_HOST, "call", "nap", "--params", params, "--address", address]
    waiting = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    waiting.send_signal(signal.SIGINT)
    stdout, stderr = waiting.communicate(timeout=30)
    assert (waiting.returncode, stdout, stderr) == (EXIT_INTERRUPTED, "", "")
    host.process.send_signal(signal.SIGTERM)
    host.wait()


# ---------------------------------------------------------------- options are checked


def test_an_unknown_plugin_name_is_listed_with_a_suggestion() -> None:
    done = cli("plugins", "--plugins", "variabels,tools")
    assert done.returncode == EXIT_OK and done.stderr == "", done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("variabels "))
    assert row.split()[1] == "error"
    statuses = {p["name"]: p["status"] for p in json.loads(cli("plugins", "--json", "--plugins", "variabels").stdout)}
    known = ", ".join(sorted(name for name in statuses if name != "variabels"))
    assert row.endswith(
        f"--plugins names 'variabels', but no plugin here has that name; did you mean variables? (plugins: {known})"
    ), row
    assert statuses["variabels"] == "error" and statuses["variables"] == "disabled"


@pytest.mark.parametrize(
    ("args", "settings", "hint"),
    [
        (["--plugins", "variabels,tools"], {}, "--plugins names 'variabels'; did you mean variables?"),
        ([], {"SNAKEPIT_PLUGINS": "tools,snakepit-dpsy"}, "$SNAKEPIT_PLUGINS names 'snakepit-dpsy'"),
        (["--disable-plugin", "dpsy"], {}, "--disable-plugin names 'dpsy'"),
        ([], {"SNAKEPIT_DISABLE_PLUGINS": "exmaple"}, "$SNAKEPIT_DISABLE_PLUGINS names 'exmaple'"),
    ],
    ids=["flag", "env", "disable flag", "disable env"],
)
def test_strict_mode_refuses_an_unknown_plugin_name(args: list[str], settings: dict[str, str], hint: str) -> None:
    done = cli("serve", "--port", "0", "--strict-plugins", *args, **settings)
    assert done.returncode == EXIT_PLUGIN_ERROR and done.stdout == "", done.stderr  # never ready
    last = done.stderr.splitlines()[-1]
    where, _, rest = hint.partition(";")
    assert last.startswith(f"snakepit-host: {where}, but no plugin here has that name") and rest in last, last
    assert last.endswith("(strict plugin mode)") and "did you mean" in last, last


def test_entry_point_distribution_and_adapter_names_are_known() -> None:
    done = cli(
        "serve", "--health-check", "--strict-plugins", "--plugins", "snakepit-tools,variables,adapter",
        "--disable-plugin", "snakepit_dspy",
    )  # fmt: skip
    assert done.returncode == EXIT_OK and "0 failed" in done.stdout, done.stderr


def test_without_strict_mode_an_unknown_name_fails_the_health_check(spawn_host: Spawn) -> None:
    checked = cli("serve", "--health-check", "--plugins", "variabels,tools")
    assert checked.returncode == EXIT_FAILURE and "1 failed" in checked.stdout
    assert "plugin variabels: --plugins names 'variabels'" in checked.stderr
    # A served worker starts (non-strict is tolerant), logs the mistake once, and shows it in describe.
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0", "--plugins", "variabels,tools", "--max-wrokers", "4"])
    address = f"127.0.0.1:{host.wait_ready()}"
    described = json.loads(cli("describe", "--address", address).stdout)
    assert {p["name"]: p["status"] for p in described["plugins"]}["variabels"] == "error"
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
    assert host.stderr.count("--plugins names 'variabels'") == 1
    # serve ignores unknown options (a newer Snakepit's), but says what was probably meant.
    assert "ignoring unknown option(s): --max-wrokers 4; did you mean --max-workers?" in host.stderr


@pytest.mark.parametrize("command", ["plugins", "describe", "call"])
def test_a_bad_log_level_flag_is_a_usage_error(command: str) -> None:
    args = [command, "--log-level", "verbose"] + (["echo", "--local"] if command == "call" else [])
    last = usage_error(cli(*args), command)
    assert last.endswith(
        "argument --log-level: 'verbose' is not a log level (choose from debug, info, warning, error, none)"
    )


def test_a_bad_log_level_in_the_environment_is_a_usage_error() -> None:
    last = usage_error(cli("plugins", SNAKEPIT_LOG_LEVEL="wraning"), "plugins")
    assert last.endswith("$SNAKEPIT_LOG_LEVEL: 'wraning' is not a log level; did you mean warning? "
                         "(choose from debug, info, warning, error, none)"), last  # fmt: skip
    served = cli("serve", "--port", "0", "--log-level", "loud")
    assert served.returncode == EXIT_USAGE and served.stdout == ""  # never ready
    assert cli("plugins", "--log-level", "WARNING").returncode == EXIT_OK  # names are case-insensitive


@pytest.mark.parametrize(
    ("args", "command", "hint"),
    [
        (["call", "echo", "--parms", "{}"], "call", "unrecognized arguments: --parms {}; did you mean --params?"),
        (["describe", "--adress", "x"], "describe", "unrecognized arguments: --adress x; did you mean --address?"),
        (["plugins", "--jsno"], "plugins", "unrecognized arguments: --jsno; did you mean --json?"),
    ],
)
def test_a_misspelt_flag_shows_its_commands_usage_and_a_suggestion(args: list[str], command: str, hint: str) -> None:
    assert usage_error(cli(*args), command).endswith(hint)


def test_a_misspelt_command_gets_a_suggestion() -> None:
    done = cli("plugin")
    assert done.returncode == EXIT_USAGE and done.stderr.startswith("usage: snakepit-host "), done.stderr
    assert "error: unknown command 'plugin'; did you mean plugins? (commands: serve, plugins, " in done.stderr


# ---------------------------------------------------------------- commands print their output, nothing else


def test_local_calls_and_listings_print_only_their_output() -> None:
    registered = cli("call", "register_variable", "--local", "--params", '{"name": "t", "type": "float", "value": 1}')
    assert registered.returncode == EXIT_OK and registered.stderr == "", registered.stderr
    assert json.loads(registered.stdout)["name"] == "t"
    for args in (["plugins"], ["plugins", "--json"], ["describe"]):
        done = cli(*args)
        assert done.returncode == EXIT_OK and done.stderr == "", (args, done.stderr)
    # Asked for, the logs are there (on stderr).
    chatty = cli(
        "call",
        "register_variable",
        "--local",
        "--log-level",
        "info",
        "--params",
        '{"name": "t", "type": "float", "value": 1}',
    )
    assert "INFO snakepit_variables: variables: using the memory store" in chatty.stderr
    assert json.loads(chatty.stdout)["name"] == "t"


def test_variables_registered_from_the_cli_do_not_claim_to_come_from_elixir(spawn_host: Spawn) -> None:
    params = '{"name": "t", "type": "float", "value": 0.5}'
    local = json.loads(cli("call", "register_variable", "--local", "--params", params).stdout)
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0", "--plugins", "variables"])
    address = f"127.0.0.1:{host.wait_ready()}"
    remote = json.loads(cli("call", "register_variable", "--address", address, "--params", params).stdout)
    for registered in (local, remote):
        assert (registered["source"], registered["metadata"]["source"]) == ("PYTHON", "python")
    host.process.send_signal(signal.SIGTERM)
    assert host.wait() == 0
