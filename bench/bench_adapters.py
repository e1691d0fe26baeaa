"""snakepit-adapters: a Snakepit-style adapter's tool call, against a native plugin command and Snakepit's own server.

Servers run as subprocesses on 127.0.0.1, all at once, with an Elixir
stand-in (:class:`snakepit_host.testing.elixir_standin.ElixirStandIn`) in
this process for the ones that call Elixir:

- ``bare``: ``bench/bare_server.py``, the bare grpcio baseline (echoes the parameters);
- ``native``: the host with a host plugin command ``add(ctx, params)``
  (``--adapter bench_adapters:NativePlugin``);
- ``adapter``: the host with snakepit-adapters serving :class:`BenchAdapter`,
  a Snakepit-style adapter class whose ``execute_tool`` answers ``add``: per
  call a new instance, ``set_session_context`` with a new context, the turn
  lock (it is not ``__thread_safe__``), dispatch, Snakepit 0.13's result encoding;
- ``snakepit``: only when ``SNAKEPIT_PRIV_PYTHON`` names a Snakepit
  ``priv/python`` folder: Snakepit's own ``grpc_server.py`` serving the
  same :class:`BenchAdapter` (0.13 or 0.4.1, whichever the folder holds).

Measured ``--repeat`` times, interleaved, ``--calls`` unary ExecuteTool
calls each, one client, prebuilt requests ``{"a": 2, "b": 3}``. Then in
process (``host.execute``, no gRPC): native and adapter, to show what the
adapter's lifecycle adds per call. Ratios: adapter / native (the price of
serving an adapter), each / bare, and Snakepit's server / adapter.

    .venv/bin/python bench/bench_adapters.py            # ~1 minute
    .venv/bin/python bench/bench_adapters.py --quick    # smoke run
    SNAKEPIT_PRIV_PYTHON=/path/to/snakepit/priv/python .venv/bin/python bench/bench_adapters.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from _common import ServerProcess

    from snakepit_host import Registrar, SessionContext

SESSION = "bench"
TIMEOUT = 60.0
PARAMS = {"a": 2, "b": 3}


# ---------------------------------------------------------------- what the servers load


class ToolMetadata:
    """What Snakepit's ``@tool`` sets on a method (``snakepit_bridge`` is not needed to declare one)."""

    description = "Add two numbers"
    supports_streaming = False
    required_variables: list[str] = []


class BenchAdapter:
    """A Snakepit-style adapter: its own ``execute_tool`` dispatch and one declared tool.

    No ``initialize``: Snakepit 0.4.1's server awaits it, so a synchronous one fails every call there.
    """

    def __init__(self) -> None:
        self.session_context: Any = None

    def set_session_context(self, context: Any) -> None:
        self.session_context = context

    def add(self, a: float, b: float) -> float:
        return a + b

    add._tool_metadata = ToolMetadata()  # type: ignore[attr-defined]

    def execute_tool(self, tool_name: str, arguments: dict[str, Any], context: Any) -> Any:
        if tool_name == "add":
            return self.add(**arguments)
        raise AttributeError(f"Tool '{tool_name}' not found in BenchAdapter")


def add(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """The native baseline: the same addition as a plugin command."""
    return params["a"] + params["b"]


class NativePlugin:
    @hookimpl
    def register_commands(self, register: Registrar) -> None:
        register.command("add", add)


# ---------------------------------------------------------------- servers


@contextmanager
def snakepit_server(priv: Path, bench_dir: Path, elixir_address: str) -> Iterator[str]:
    """Snakepit's own grpc_server.py serving BenchAdapter; 0.13 signals readiness through a file."""
    from _common import bench_env, python

    port_file = Path(tempfile.mkdtemp()) / "snakepit_ready_bench_1"
    env = bench_env(PYTHONPATH=f"{bench_dir}{os.pathsep}{priv}", SNAKEPIT_READY_FILE=str(port_file))
    argv = [python(), str(priv / "grpc_server.py"), "--adapter", "bench_adapters.BenchAdapter", "--port", "0"]
    argv += ["--elixir-address", elixir_address]
    process = subprocess.Popen(
        argv, cwd=priv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True
    )
    try:
        port = _snakepit_port(process, port_file)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _snakepit_port(process: subprocess.Popen[str], port_file: Path) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Snakepit's server exited with {process.returncode}")
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text())
        line = process.stdout.readline()  # 0.4.1 prints GRPC_READY instead
        if line.startswith("GRPC_READY:"):
            return int(line.split(":", 1)[1])
        time.sleep(0.02)
    raise SystemExit("Snakepit's server did not become ready within 60 s")


# ---------------------------------------------------------------- measuring


def caller(address: str, stack: ExitStack, *, expect_sum: bool) -> Callable[[], None]:
    import grpc
    from _common import CHANNEL_OPTIONS

    from snakepit_host import codec
    from snakepit_host.proto import snakepit_bridge_pb2 as pb
    from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

    channel = stack.enter_context(grpc.insecure_channel(address, options=CHANNEL_OPTIONS))
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
    request = pb.ExecuteToolRequest(session_id=SESSION, tool_name="add")
    for key, value in PARAMS.items():
        request.parameters[key].CopyFrom(codec.encode_json_any(value))
    expected: Any = 5 if expect_sum else PARAMS

    def call() -> None:
        response = stub.ExecuteTool(request, timeout=TIMEOUT)
        if not response.success or codec.decode_any(response.result) != expected:
            raise SystemExit(f"{address}: unexpected answer {response}")

    return call


def over_grpc(args: argparse.Namespace, servers: dict[str, ServerProcess | str]) -> dict[str, list[float]]:
    from _common import interleaved

    with ExitStack() as stack:
        cases = {
            name: caller(s if isinstance(s, str) else s.address, stack, expect_sum=name != "bare")
            for name, s in servers.items()
        }
        for call in cases.values():
            for _ in range(args.warmup):
                call()
        return interleaved(cases, args.calls, args.repeat)


def in_process(args: argparse.Namespace, bench_dir: Path) -> dict[str, list[float]]:
    import sys

    import snakepit_adapters.plugin as adapters_plugin
    from _common import interleaved

    from snakepit_host._host import Host
    from snakepit_host._host_config import HostConfig
    from snakepit_host.testing import make_plugin_manager

    sys.path.insert(0, str(bench_dir))
    hosts = {
        "native": make_plugin_manager(NativePlugin()),
        "adapter": make_plugin_manager(adapters_plugin, adapter="bench_adapters:BenchAdapter"),
    }

    def case(host: Host) -> Callable[[], Any]:
        return lambda: host.execute("add", dict(PARAMS), session_id=SESSION)

    cases = {name: case(Host(HostConfig(port=0), m, m.build_registry())) for name, m in hosts.items()}
    for call in cases.values():
        for _ in range(args.warmup):
            call()
    return interleaved(cases, args.calls * 5, args.repeat)


# ---------------------------------------------------------------- output


def main() -> None:
    from _common import call_options

    args = call_options(__doc__)

    from _common import (
        BENCH_DIR,
        ServerProcess,
        Spread,
        bench_env,
        describe_machine,
        format_spread,
        machine_info,
        python,
        save_run,
        text_table,
    )

    from snakepit_host.testing.elixir_standin import ElixirStandIn

    info = machine_info()
    print(describe_machine(info))
    priv = os.environ.get("SNAKEPIT_PRIV_PYTHON")
    standin = ElixirStandIn()
    elixir_address = standin.start()
    env = bench_env(PYTHONPATH=str(BENCH_DIR), SNAKEPIT_LOG_LEVEL="error")
    host = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--elixir-address", elixir_address]
    try:
        with ExitStack() as stack:
            servers: dict[str, ServerProcess | str] = {
                "bare": stack.enter_context(ServerProcess.start("bare", [python(), str(BENCH_DIR / "bare_server.py")])),
                "native": stack.enter_context(
                    ServerProcess.start("native", [*host, "--adapter", "bench_adapters:NativePlugin"], env=env)
                ),
                "adapter": stack.enter_context(
                    ServerProcess.start("adapter", [*host, "--adapter", "bench_adapters.BenchAdapter"], env=env)
                ),
            }
            if priv:
                servers["snakepit"] = stack.enter_context(snakepit_server(Path(priv), BENCH_DIR, elixir_address))
            remote_samples = over_grpc(args, servers)
    finally:
        standin.stop()
    local_samples = in_process(args, BENCH_DIR)

    remote = {name: Spread.of(values) for name, values in remote_samples.items()}
    local = {name: Spread.of(values) for name, values in local_samples.items()}
    print(f"\nover gRPC, one client, us per call (median of {args.repeat} x {args.calls}, min-max):")
    print(text_table(["server", "us/call"], [[name, format_spread(spread)] for name, spread in remote.items()]))
    print(f"\nin process (host.execute, no gRPC), us per call (median of {args.repeat} x {args.calls * 5}):")
    print(text_table(["host", "us/call"], [[name, format_spread(spread)] for name, spread in local.items()]))
    ratios = {
        "adapter / native over gRPC": remote["adapter"].median / remote["native"].median,
        "adapter / bare over gRPC": remote["adapter"].median / remote["bare"].median,
        "native / bare over gRPC": remote["native"].median / remote["bare"].median,
        "adapter / native in process": local["adapter"].median / local["native"].median,
    }
    if "snakepit" in remote:
        ratios["Snakepit's grpc_server.py / adapter over gRPC"] = remote["snakepit"].median / remote["adapter"].median
    print("\nratios:")
    for label, value in ratios.items():
        print(f"  {label}: {value:.2f}")
    added = local["adapter"].median - local["native"].median
    print(f"  added by the adapter's per-call lifecycle, in process: {added:.1f} us per call")
    if not priv:
        print("  (set SNAKEPIT_PRIV_PYTHON to a Snakepit priv/python folder to compare with Snakepit's own server)")
    save_run(
        "adapters",
        info,
        {**vars(args), "snakepit_priv_python": priv},
        grpc_us={name: spread.as_dict() for name, spread in remote.items()},
        in_process_us={name: spread.as_dict() for name, spread in local.items()},
        ratios=ratios,
    )


if __name__ == "__main__":
    main()
