"""``snakepit-host``: serve, inspect plugins, describe, call, and launch helpers.

With no sub-command, or when the first argument is an option, ``serve`` is
assumed: that is how Snakepit launches workers (``grpc_server.py --adapter
... --port 0 --elixir-address ...``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from snakepit_host._version import __version__

if TYPE_CHECKING:
    import grpc

    from snakepit_host._host import Host
    from snakepit_host._host_config import HostConfig
    from snakepit_host._plugin_manager import PluginManager
    from snakepit_host.host_client import SnakepitClient

T = TypeVar("T")

log = logging.getLogger("snakepit_host")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PORT_IN_USE = 69
EXIT_PLUGIN_ERROR = 78
EXIT_INTERRUPTED = 130

LAUNCHER = """#!/bin/sh
# Written by `snakepit-host install-launcher`. Snakepit starts workers as
# "<python> <its priv/python/grpc_server.py> <args>"; this script stands in
# for that python and starts snakepit-host's grpc_server.py with the same
# arguments, so Snakepit's process tracking (grpc_server.py plus
# --snakepit-run-id in the command line) keeps working; Snakepit's own script
# path stays in the command line too (--snakepit-script), since 0.13 also
# looks for its app directory there. Anything else runs the real interpreter
# unchanged.
case "$1" in
  *grpc_server.py|*grpc_server_threaded.py)
    snakepit_script="$1"
    shift
    exec "{python}" "{script}" "$@" --snakepit-script "$snakepit_script" ;;
esac
exec "{python}" "$@"
"""


class CliError(Exception):
    """What went wrong, in one line for ``error: ...`` on stderr, and the exit status."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------- argument parsing


def _plugin_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("plugins")
    group.add_argument(
        "--plugins",
        metavar="NAMES",
        default=None,
        help="only load these plugins (comma-separated entry-point or distribution names; "
        "'' = built-ins only); default: $SNAKEPIT_PLUGINS, else all",
    )
    group.add_argument(
        "--disable-plugin",
        metavar="NAME",
        action="append",
        default=[],
        help="do not load this plugin (repeatable; adds to $SNAKEPIT_DISABLE_PLUGINS)",
    )
    group.add_argument(
        "--strict-plugins",
        action="store_true",
        default=None,
        help=f"exit with status {EXIT_PLUGIN_ERROR} if any plugin fails (or $SNAKEPIT_STRICT_PLUGINS=1)",
    )
    group.add_argument(
        "--log-level",
        type=_log_level_argument,
        metavar="LEVEL",
        default=None,
        help="debug|info|warning|error|none (default: $SNAKEPIT_LOG_LEVEL, else info for serve, warning otherwise)",
    )
    group.add_argument(
        "--log-format",
        default=None,
        choices=("text", "json"),
        help="stderr log lines: text, or json (one object per line); default $SNAKEPIT_LOG_FORMAT, else text",
    )
    group.add_argument(
        "--adapter",
        default=None,
        help="serve this adapter too ('pkg.mod.Class'): a Snakepit adapter (with snakepit-adapters), "
        "one a plugin stands in for, or a host plugin class or module",
    )
    group.add_argument("--snakepit-script", default="", help=argparse.SUPPRESS)  # set by install-launcher
    return parent


def _log_level_argument(value: str) -> str:
    from snakepit_host._logging import log_level

    try:
        return log_level(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve_options(parser: argparse.ArgumentParser) -> None:
    net = parser.add_argument_group("network")
    net.add_argument(
        "--host",
        dest="bind_host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1; use 0.0.0.0 or :: deliberately)",
    )
    net.add_argument("--port", type=int, default=None, help="port to listen on; 0 = any free port (default 50052)")
    net.add_argument(
        "--max-message-bytes",
        type=int,
        default=None,
        help="largest message sent or received (default 100 MiB, or $SNAKEPIT_MAX_MESSAGE_BYTES)",
    )
    net.add_argument(
        "--max-workers",
        type=int,
        default=16,
        help="most calls running at once; more are refused with RESOURCE_EXHAUSTED (default 16). "
        "Ping, Heartbeat and health checks have threads of their own",
    )
    net.add_argument(
        "--max-streams",
        type=int,
        default=64,
        help="most streams open at once (streaming tools, WatchVariables, StreamTelemetry; default 64)",
    )
    net.add_argument("--thread-safety-check", action="store_true", help=argparse.SUPPRESS)

    run = parser.add_argument_group("calls and sessions")
    run.add_argument("--session-ttl", type=float, default=3600.0, help="seconds an idle session lives (default 3600)")
    run.add_argument("--max-sessions", type=int, default=10_000, help="most live sessions (default 10000)")
    run.add_argument("--call-timeout", type=float, default=None, help="default per-call time limit in seconds (none)")
    run.add_argument(
        "--shutdown-grace", type=float, default=1.5, help="seconds running calls get to finish on SIGTERM (default 1.5)"
    )
    run.add_argument(
        "--error-format",
        choices=("auto", "text", "json"),
        default="auto",
        help="error_message style; auto = json when launched by Snakepit 0.13, else text",
    )
    run.add_argument(
        "--no-exit-with-parent",
        dest="exit_with_parent",
        action="store_false",
        help="keep serving when the parent process exits",
    )

    snakepit = parser.add_argument_group("Snakepit launch flags (accepted from both 0.4.x and 0.13.x)")
    snakepit.add_argument(
        "--elixir-address",
        default=None,
        help="Elixir BridgeServer host:port (default $SNAKEPIT_GRPC_ADDRESS or $SNAKEPIT_ELIXIR_ADDRESS)",
    )
    snakepit.add_argument("--snakepit-run-id", "--run-id", dest="run_id", default="")
    snakepit.add_argument("--snakepit-instance-name", default="")
    snakepit.add_argument("--snakepit-instance-token", default="")
    snakepit.add_argument(
        "--ready-file", default=None, help="write the port here when ready (default $SNAKEPIT_READY_FILE)"
    )
    snakepit.add_argument("--health-check", action="store_true", help="load plugins, report, exit 0 (all loaded) or 1")
    snakepit.add_argument("--heartbeat-enabled", action="store_true", default=None)
    snakepit.add_argument("--heartbeat-interval-ms", type=int, default=None)
    snakepit.add_argument("--heartbeat-timeout-ms", type=int, default=None)
    snakepit.add_argument("--heartbeat-max-missed", type=int, default=None)
    snakepit.add_argument("--heartbeat-initial-delay-ms", type=int, default=None)
    snakepit.add_argument("--heartbeat-dependent", dest="heartbeat_dependent", action="store_true", default=None)
    snakepit.add_argument("--heartbeat-independent", dest="heartbeat_dependent", action="store_false")


class _Parser(argparse.ArgumentParser):
    """argparse formats every option while it is being added, and its formatter
    probes the terminal through ``shutil`` (which imports bz2 and lzma): about
    3 ms of a worker's start-up. A fixed width avoids that."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        width = int(os.environ.get("COLUMNS", "100") or 100) - 2
        return argparse.HelpFormatter(prog=self.prog, width=max(width, 40))


def _add_plugins_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _add_describe_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=None, help="ask a running host instead of loading locally")


def _add_call_command(call: argparse.ArgumentParser) -> None:
    call.add_argument("name", help="command or tool name")
    call.add_argument("--params", default="{}", help="JSON object of parameters")
    call.add_argument("--address", default="127.0.0.1:50052", help="host:port of the worker (default 127.0.0.1:50052)")
    call.add_argument("--local", action="store_true", help="run in this process instead of calling a server")
    call.add_argument("--session", default="", help="session id")
    call.add_argument("--stream", action="store_true", help="use ExecuteStreamingTool and print each chunk")
    call.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="NAME=@FILE",
        help="send a file as a binary parameter (repeatable)",
    )
    call.add_argument("--output", default=None, help="write a binary result to this file")
    call.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")


def _add_stats_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address", default="127.0.0.1:50052", help="host:port of the worker (default 127.0.0.1:50052)"
    )
    parser.add_argument("--json", action="store_true", help="the whole report as JSON")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")


def _add_launcher_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        help="folder for the launchers (put it first on Snakepit's PATH, "
        "or point :python_executable / SNAKEPIT_PYTHON at <directory>/python3)",
    )


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


# name: (help, loads plugins, adds its arguments)
SUBCOMMANDS: dict[str, tuple[str, bool, Any]] = {
    "serve": ("serve BridgeService (what Snakepit runs)", True, _serve_options),
    "plugins": ("list plugins and their status", True, _add_plugins_command),
    "describe": ("commands, tools, types and plugins", True, _add_describe_command),
    "call": ("call a command on a running host (or --local)", True, _add_call_command),
    "stats": (
        "calls, errors, latencies per command, sessions, streams, memory of a running host",
        False,
        _add_stats_command,
    ),
    "script-path": ("print the path of grpc_server.py (the script Snakepit should run)", False, _no_arguments),
    "install-launcher": (
        "write python/python3 launchers that make Snakepit start this host instead of its own server",
        False,
        _add_launcher_command,
    ),
    "version": ("print the version", False, _no_arguments),
}


def build_parser(only: str | None = None) -> tuple[_Parser, dict[str, argparse.ArgumentParser]]:
    """The argument parser; with ``only``, just that sub-command is built (start-up time)."""
    common = _plugin_options()
    parser = _Parser(
        prog="snakepit-host",
        description="Plugin host for Snakepit's Python workers.",
        epilog="Without a sub-command, 'serve' is assumed.",
    )
    parser.add_argument("--version", action="version", version=f"snakepit-host {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parsers: dict[str, argparse.ArgumentParser] = {}
    for name, (help_text, uses_plugins, add_arguments) in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        parents: list[_Parser] = [common] if uses_plugins else []
        parsers[name] = sub.add_parser(name, parents=parents, help=help_text)
        add_arguments(parsers[name])
    return parser, parsers


# ---------------------------------------------------------------- plugins and host


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_plugins(args: argparse.Namespace, *, log_failures: bool = True) -> PluginManager:
    """Discover and load plugins per the allow/deny/strict settings; may raise PluginLoadError.

    Every name in the allow and deny lists must be a plugin's (see
    :meth:`PluginManager.check_names`): a typo is an error, fatal in strict mode.
    """
    from snakepit_host import _startup
    from snakepit_host._plugin_manager import PluginManager, parse_name_list

    allow_from = "--plugins" if args.plugins is not None else "$SNAKEPIT_PLUGINS"
    allow = parse_name_list(args.plugins if args.plugins is not None else os.environ.get("SNAKEPIT_PLUGINS"))
    deny_env = parse_name_list(os.environ.get("SNAKEPIT_DISABLE_PLUGINS")) or []
    strict = bool(args.strict_plugins) or _truthy(os.environ.get("SNAKEPIT_STRICT_PLUGINS"))
    if args.snakepit_script:
        _import_like_snakepit(Path(args.snakepit_script).parent)
    plugins = PluginManager(
        allow=allow, deny=[*args.disable_plugin, *deny_env], strict=strict, log_failures=log_failures
    )
    plugins.load_builtins()
    plugins.load_entry_points()
    if args.adapter:
        plugins.load_adapter(args.adapter)
    named = [(name, allow_from) for name in allow or ()]
    named += [(name, "--disable-plugin") for name in args.disable_plugin]
    named += [(name, "$SNAKEPIT_DISABLE_PLUGINS") for name in deny_env]
    plugins.check_names(named)
    _startup.mark("plugins loaded")
    return plugins


def _import_like_snakepit(priv_python: Path) -> None:
    """Launched by Snakepit (``--snakepit-script``): its ``priv/python`` is importable, as under its own server.

    Snakepit's server runs there with ``.`` first on ``sys.path`` (0.13 also puts
    it on ``PYTHONPATH``), so its ``snakepit_bridge`` package and its users'
    adapters resolve from there. Its generated ``snakepit_bridge_pb2`` modules
    sit there too; the host's stand in for them before anything can import them.
    """
    from snakepit_host.proto import answer_snakepit_imports

    answer_snakepit_imports()
    folder = str(priv_python)
    if priv_python.is_dir() and folder not in sys.path:
        sys.path.insert(0, folder)


def host_config(args: argparse.Namespace, plugin_options: list[str]) -> HostConfig:
    from snakepit_host._host_config import DEFAULT_PORT, HostConfig

    ready_file = args.ready_file or os.environ.get("SNAKEPIT_READY_FILE") or None
    error_format = args.error_format
    if error_format == "auto":
        error_format = "json" if ready_file else "text"
    max_message = args.max_message_bytes or int(os.environ.get("SNAKEPIT_MAX_MESSAGE_BYTES") or 0) or None
    elixir = (
        args.elixir_address
        or os.environ.get("SNAKEPIT_GRPC_ADDRESS")
        or os.environ.get("SNAKEPIT_ELIXIR_ADDRESS")
        or None
    )
    config = HostConfig(
        bind_host=args.bind_host,
        port=DEFAULT_PORT if args.port is None else args.port,
        max_workers=max(1, args.max_workers),
        max_streams=max(1, args.max_streams),
        session_ttl=args.session_ttl,
        max_sessions=args.max_sessions,
        call_timeout=args.call_timeout,
        shutdown_grace=args.shutdown_grace,
        elixir_address=elixir,
        error_format=error_format,
        include_tracebacks=logging.getLogger("snakepit_host").isEnabledFor(logging.DEBUG),
        run_id=args.run_id,
        options={name: getattr(args, name) for name in plugin_options},
    )
    if max_message:
        config.max_message_bytes = max_message
    return config


def make_host(config: HostConfig, plugins: PluginManager) -> Host:
    from snakepit_host import _startup
    from snakepit_host._host import Host

    registry = plugins.build_registry(config.options)
    _startup.mark("registration")
    return Host(config, plugins, registry)


# ---------------------------------------------------------------- commands


def cmd_serve(
    args: argparse.Namespace,
    unknown: list[str],
    plugins: PluginManager,
    plugin_options: list[str],
    parser: argparse.ArgumentParser,
) -> int:
    from snakepit_host._server import PortInUse
    from snakepit_host._worker import HeartbeatConfig, join_process_group, serve

    join_process_group()
    if unknown:
        log.warning("ignoring unknown option(s): %s", _unknown_options(unknown, parser))
    config = host_config(args, plugin_options)
    host = make_host(config, plugins)
    if args.health_check:
        failed = [r for r in plugins.records.values() if r.status in ("error", "incompatible")]
        for record in failed:
            print(f"plugin {record.name}: {record.error}", file=sys.stderr)
        print(f"snakepit-host {__version__}: {len(plugins.loaded())} plugins loaded, {len(failed)} failed")
        return EXIT_FAILURE if failed else EXIT_OK
    heartbeat = HeartbeatConfig.from_env(os.environ.get("SNAKEPIT_HEARTBEAT_CONFIG"))
    for flag, attribute in (
        ("heartbeat_enabled", "enabled"),
        ("heartbeat_interval_ms", "interval_ms"),
        ("heartbeat_timeout_ms", "timeout_ms"),
        ("heartbeat_max_missed", "max_missed_heartbeats"),
        ("heartbeat_initial_delay_ms", "initial_delay_ms"),
        ("heartbeat_dependent", "dependent"),
    ):
        if getattr(args, flag) is not None and not os.environ.get("SNAKEPIT_HEARTBEAT_CONFIG"):
            setattr(heartbeat, attribute, getattr(args, flag))
    try:
        serve(
            host,
            ready_file=args.ready_file or os.environ.get("SNAKEPIT_READY_FILE") or None,
            heartbeat=heartbeat,
            parent=args.parent_pid if args.exit_with_parent else None,
        )
    except PortInUse as exc:
        log.error("%s", exc)
        return EXIT_PORT_IN_USE
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, plugins: PluginManager) -> int:
    plugins.build_registry()
    listing = plugins.listing()
    if args.json:
        print(json.dumps(listing, indent=2))
        return EXIT_OK
    rows = [("NAME", "STATUS", "VERSION", "DISTRIBUTION", "LOAD MS", "PROVIDES / REASON")]
    for item in listing:
        if item["status"] == "loaded":
            detail = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in item["provides"].items())
        else:
            detail = item["error"] or ("disabled by configuration" if item["status"] == "disabled" else "")
        detail = "; ".join(filter(None, (item["note"], detail)))
        rows.append(
            (
                item["name"] + (" (adapter)" if item["kind"] == "adapter" else ""),
                item["status"],
                item["version"] or "-",
                item["distribution"] or "-",
                f"{item['load_ms']:.1f}",
                detail or "-",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
    return EXIT_OK


DESCRIBE_TIMEOUT = 60.0


def cmd_describe(args: argparse.Namespace, plugins: PluginManager | None) -> int:
    if args.address:
        info = _remote(args.address, DESCRIBE_TIMEOUT, lambda client: client.call("describe"))
    else:
        assert plugins is not None
        host = make_host(_local_config(), plugins)
        info = host.describe()
    print(json.dumps(info, indent=2, default=str))
    return EXIT_OK


def _local_config() -> HostConfig:
    from snakepit_host._host_config import HostConfig

    return HostConfig(port=0)


def cmd_call(args: argparse.Namespace, plugins: PluginManager | None) -> int:
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise CliError(f"--params is not valid JSON: {exc}", EXIT_USAGE) from None
    if not isinstance(params, dict):
        raise CliError("--params must be a JSON object", EXIT_USAGE)
    binary = {name: data for name, data in _binary_parameters(args.binary)}
    if args.local:
        assert plugins is not None
        _call_local(args, params, binary, plugins)
    else:
        _remote(args.address, args.timeout, lambda client: _call_remote(client, args, params, binary))
    return EXIT_OK


def _binary_parameters(items: list[str]) -> Iterable[tuple[str, bytes]]:
    for item in items:
        name, _, path = item.partition("=@")
        if not name or not path:
            raise CliError(f"--binary expects NAME=@FILE, got {item!r}", EXIT_USAGE)
        try:
            yield name, Path(path).read_bytes()
        except OSError as exc:
            raise CliError(f"--binary {name}: cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None


def _call_remote(
    client: SnakepitClient, args: argparse.Namespace, params: dict[str, Any], binary: dict[str, bytes]
) -> None:
    if args.stream:
        for item in client.stream(args.name, params, session_id=args.session, binary=binary):
            _print_value(item, args.output, line=True)
    else:
        result = client.call_full(args.name, params, session_id=args.session, binary=binary)
        _print_value(result.value if result.binary is None else result.binary, args.output)


def _remote(address: str, timeout: float, action: Callable[[SnakepitClient], T]) -> T:
    """``action`` with a client of the host at ``address``; a failure becomes one line (:class:`CliError`).

    Whether a call is unary or streamed, the line is the host's own message
    when the host answered, and says that no host answered otherwise.
    """
    import grpc

    from snakepit_host.host_client import RemoteError, SnakepitClient

    with SnakepitClient(address, timeout=timeout) as client:
        try:
            return action(client)
        except RemoteError as exc:
            raise CliError(_host_message(exc.message)) from None
        except grpc.RpcError as exc:
            raise CliError(_rpc_failure(exc, client, address, timeout)) from None


def _host_message(text: str) -> str:
    """The host's one line; in Snakepit 0.13's JSON error format (``--error-format json``) it is ``message``."""
    if text.startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError:
            return text
        message = payload.get("message") if isinstance(payload, dict) else None
        if isinstance(message, str):
            return message
    return text


def _rpc_failure(exc: grpc.RpcError, client: SnakepitClient, address: str, timeout: float) -> str:
    import grpc

    call: grpc.Call = exc  # type: ignore[assignment]  # every RpcError grpc raises is also a Call
    code, details = call.code(), call.details() or call.code().name
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and details == "Deadline Exceeded":  # gRPC's words, not the host's
        return f"no answer from {address} within {timeout:g} s (--timeout)"
    if client.connected():
        return details  # the host's words, as for a unary call's error
    return f"no host answers at {address} ({code.name}: {details})"


def _call_local(
    args: argparse.Namespace, params: dict[str, Any], binary: dict[str, bytes], plugins: PluginManager
) -> None:
    from snakepit_host._errors import describe_exception
    from snakepit_host.codec import Result, StreamChunk
    from snakepit_host.host_client import decode_chunk

    host = make_host(_local_config(), plugins)
    try:
        if args.stream:
            for item in host.stream(args.name, params, session_id=args.session, binary=binary):
                if isinstance(item, StreamChunk):  # as a remote caller would read it
                    if not item.data:
                        continue
                    item = decode_chunk(item.data) if isinstance(item.data, bytes) else item.data
                _print_value(item, args.output, line=True)
        else:
            result = host.execute(args.name, params, session_id=args.session, binary=binary)
            if isinstance(result, Result):
                result = result.binary if result.binary is not None else result.value
            _print_value(result, args.output)
    except (CliError, BrokenPipeError):
        raise
    except Exception as exc:
        raise CliError(describe_exception(exc)) from None
    finally:
        host.closed()


def _print_value(value: Any, output: str | None, *, line: bool = False) -> None:
    """Pretty JSON for a result; one compact JSON line per chunk when streaming (``line``)."""
    from snakepit_host import codec

    binary = codec.as_binary(value)
    if binary is not None:
        data = codec.pack_binary(binary)
        if output:
            try:
                Path(output).write_bytes(data)
            except OSError as exc:
                raise CliError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
        print(json.dumps({"binary": codec.binary_summary(binary), **({"written_to": output} if output else {})}))
        return
    indent = None if line else 2
    print(
        json.dumps(codec.to_jsonable(value), indent=indent, default=codec.to_jsonable, ensure_ascii=False), flush=line
    )


def cmd_stats(args: argparse.Namespace) -> int:
    """Ask a running host for ``stats`` and print it for an operator (or as JSON)."""
    from snakepit_host._stats_table import render
    from snakepit_host.host_client import RemoteError, SnakepitClient

    try:
        with SnakepitClient(args.address, timeout=args.timeout) as client:
            report = client.call("stats")
    except RemoteError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # grpc.RpcError: say it plainly
        code, details = getattr(exc, "code", None), getattr(exc, "details", None)
        if callable(code) and callable(details):
            print(f"error: {code().name}: {details()} (address {args.address})", file=sys.stderr)
            return EXIT_FAILURE
        raise
    print(json.dumps(report, indent=2) if args.json else render(report))
    return EXIT_OK


def cmd_install_launcher(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    text = LAUNCHER.format(python=sys.executable, script=Path(__file__).with_name("grpc_server.py"))
    for name in ("python3", "python"):
        path = directory / name
        path.write_text(text)
        path.chmod(0o755)
    print(f"wrote {directory / 'python3'} and {directory / 'python'}")
    python3 = directory.resolve() / "python3"
    print(f"Snakepit 0.13: set SNAKEPIT_PYTHON={python3} (or config :snakepit, python_executable: ...)")
    print(f"Snakepit 0.4: start the BEAM with PATH={directory.resolve()}:$PATH")
    return EXIT_OK


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; its status is the exit status. Nothing a user does ends in a traceback."""
    parent = os.getppid()  # first: a parent that dies while plugins load must still be noticed (serve)
    from snakepit_host import _startup

    if argv is None:  # the command line (a test calling main(...) keeps its collector)
        _startup.pause_gc()  # resumed once serving, or on the way out
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]
    try:
        status = _run(argv, parent)
        sys.stdout.flush()  # a reader that left early shows up here at the latest
        return status
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader of stdout left (`| head`): it took what it wanted, so this is no failure.
        _discard_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        _startup.resume_gc()


def _run(argv: list[str], parent: int) -> int:
    if argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
        from snakepit_host._names import did_you_mean

        build_parser()[0].error(
            f"unknown command {argv[0]!r}{did_you_mean(argv[0], SUBCOMMANDS)} (commands: {', '.join(SUBCOMMANDS)})"
        )
    parser, parsers = build_parser(argv[0] if argv[0] in SUBCOMMANDS else None)
    # `serve --help` is answered after the plugins have added their options (second parse below).
    serve_help = argv[0] == "serve" and any(arg in ("-h", "--help") for arg in argv[1:])
    args, unknown = parser.parse_known_args([a for a in argv if a not in ("-h", "--help")] if serve_help else argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    command = parsers[args.command]
    if unknown and args.command != "serve":
        command.error(f"unrecognized arguments: {_unknown_options(unknown, command)}")
    if args.command == "version":
        print(f"snakepit-host {__version__}")
        return EXIT_OK
    if args.command == "script-path":
        print(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpc_server.py"))
        return EXIT_OK
    if args.command == "install-launcher":
        return cmd_install_launcher(Path(args.directory))
    if args.command == "stats":
        return cmd_stats(args)

    from snakepit_host._logging import configure_logging

    log_format = (args.log_format or os.environ.get("SNAKEPIT_LOG_FORMAT") or "text").strip().lower()
    if log_format not in ("text", "json"):
        parser.error(f"$SNAKEPIT_LOG_FORMAT is {log_format!r}, not text or json")
    from snakepit_host import _startup
    from snakepit_host._plugin_manager import PluginLoadError

    configure_logging(_log_level(args, command), log_format)
    if args.command == "serve":
        import snakepit_host._worker  # noqa: F401  (gRPC and the server, the timeline's "imports")

        _startup.mark("imports")

    if args.command == "call" and not args.local:
        return cmd_call(args, None)
    if args.command == "describe" and args.address:
        return cmd_describe(args, None)
    try:
        # `plugins` and `describe` show every plugin's status and reason themselves.
        plugins = load_plugins(args, log_failures=args.command not in ("plugins", "describe"))
        if args.command == "serve":
            plugin_options = plugins.add_options(command)
            args, unknown = parser.parse_known_args(argv)
            args.parent_pid = parent
            _startup.mark("options")
            return cmd_serve(args, unknown, plugins, plugin_options, command)
        if args.command == "plugins":
            return cmd_plugins(args, plugins)
        if args.command == "describe":
            return cmd_describe(args, plugins)
        return cmd_call(args, plugins)
    except PluginLoadError as exc:
        print(f"snakepit-host: {exc} (strict plugin mode)", file=sys.stderr)
        return EXIT_PLUGIN_ERROR


def _log_level(args: argparse.Namespace, command: argparse.ArgumentParser) -> str:
    """``--log-level`` (checked while parsing), else ``$SNAKEPIT_LOG_LEVEL`` (checked here), else the default.

    ``serve`` logs at ``info`` by default; the other commands print their
    output and, unless asked, only warnings and errors.
    """
    from snakepit_host._logging import log_level

    if args.log_level is not None:
        return str(args.log_level)
    configured = os.environ.get("SNAKEPIT_LOG_LEVEL", "").strip()
    if configured:
        try:
            return log_level(configured)
        except ValueError as exc:
            command.error(f"$SNAKEPIT_LOG_LEVEL: {exc}")
    return "info" if args.command == "serve" else "warning"


def _unknown_options(unknown: list[str], parser: argparse.ArgumentParser) -> str:
    """The unknown arguments as given, and for each misspelt option the closest one ``parser`` has."""
    from snakepit_host._names import did_you_mean

    known = [flag for flag in parser._option_string_actions if flag.startswith("--")]
    flags = [word.split("=", 1)[0] for word in unknown if word.startswith("--")]
    hints = [(flag, did_you_mean(flag, known, most=1)) for flag in flags]
    text = " ".join(unknown)
    if len(hints) == 1:
        return text + hints[0][1]
    return text + "".join(f"; {flag}: {hint[2:]}" for flag, hint in hints if hint)


def _discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that flushing what is left at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (embedded use): nothing will flush to a pipe
        pass


if __name__ == "__main__":
    sys.exit(main())
