"""snakepit-tools: what validation and dispatch add to a call, and the Python -> Elixir round trip.

A host runs as a subprocess on 127.0.0.1 with only snakepit-tools and this
script's :class:`BenchPlugin` (``--adapter bench_tools:BenchPlugin``), and
an Elixir stand-in (:class:`snakepit_host.testing.elixir_standin.ElixirStandIn`)
runs in this process. Measured ``--repeat`` times, interleaved, ``--calls``
calls each, one client, prebuilt requests:

- ``plain``: a command ``plain5(ctx, params)`` given five parameters (the baseline);
- ``tool``: the tool ``typed5(a: int, b: float, c: str, d: bool, mode: Literal[...])``
  with the same parameters: schema validation, conversion and dispatch.
  Target: tool / plain <= 1.1;
- ``tool, no memo``: the same function registered with an explicit schema that
  puts a ``pattern`` on ``c``, which the verdict memo does not judge, so
  jsonschema runs every time: the validator's own price;
- in-process (no gRPC, ``host.execute`` in this process): the same three, to
  show the added microseconds without the network around them;
- Python -> Elixir: ``call_elixir_tool`` through the host (client -> host ->
  Elixir -> host -> client), the session proxy ``multiply`` called by name,
  a bare ExecuteElixirTool from this process to the stand-in (the Elixir leg
  alone), and ``elixir_loop``: a tool that calls ``ctx.tools.call("multiply")``
  ``--calls`` times inside the host and reports the mean (what a Python tool
  pays per Elixir tool call).

    .venv/bin/python bench/bench_tools.py            # ~1 minute
    .venv/bin/python bench/bench_tools.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from _common import call_options, interleaved

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host._context import SessionContext
    from snakepit_host._registry import Registrar

SESSION = "bench"
TIMEOUT = 120.0
PARAMS = {"a": 7, "b": 2.5, "c": "text", "d": True, "mode": "fast"}
NO_MEMO_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"type": "integer"},
        "b": {"type": "number"},
        "c": {"type": "string", "pattern": "."},
        "d": {"type": "boolean"},
        "mode": {"enum": ["fast", "slow"]},
    },
    "required": ["a", "b", "c", "d"],
    "additionalProperties": False,
}


# ---------------------------------------------------------------- the plugin the host loads


def plain5(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """Baseline: a command that reads one of its five parameters."""
    return params["a"]


def typed5(a: int, b: float, c: str, d: bool, mode: Literal["fast", "slow"] = "fast") -> int:
    """Five typed parameters."""
    return a


def elixir_loop(ctx: SessionContext, calls: int) -> float:
    """Mean microseconds of ``calls`` Elixir tool calls made from inside a Python tool."""
    started = time.perf_counter()
    for i in range(calls):
        if ctx.tools.call("multiply", a=i, b=2) != 2 * i:
            raise AssertionError("multiply gave a wrong answer")
    return (time.perf_counter() - started) / calls * 1e6


class BenchPlugin:
    @hookimpl
    def register_commands(self, register: Registrar) -> None:
        register.command("plain5", plain5)

    @hookimpl
    def register_tools(self, register: Registrar) -> None:
        register.tool(typed5)
        register.tool(typed5, name="typed5_no_memo", parameters=NO_MEMO_SCHEMA)
        register.tool(elixir_loop)


# ---------------------------------------------------------------- measuring


def over_grpc(args: argparse.Namespace, address: str, elixir_address: str) -> dict[str, list[float]]:
    import grpc
    from _common import CHANNEL_OPTIONS

    from snakepit_host import codec
    from snakepit_host.proto import snakepit_bridge_pb2 as pb
    from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

    def request(name: str, params: dict[str, Any]) -> pb.ExecuteToolRequest:
        message = pb.ExecuteToolRequest(session_id=SESSION, tool_name=name)
        for key, value in params.items():
            message.parameters[key].CopyFrom(codec.encode_json_any(value))
        return message

    def caller(stub: Any, method: str, message: Any, expect: Any) -> Callable[[], None]:
        rpc = getattr(stub, method)

        def call() -> None:
            response = rpc(message, timeout=TIMEOUT)
            if not response.success or codec.decode_any(response.result) != expect:
                raise SystemExit(f"{message.tool_name}: unexpected answer {response}")

        return call

    with (
        grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel,
        grpc.insecure_channel(elixir_address, options=CHANNEL_OPTIONS) as elixir_channel,
    ):
        grpc.channel_ready_future(channel).result(timeout=30)
        host = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        elixir = pb_grpc.BridgeServiceStub(elixir_channel)  # type: ignore[no-untyped-call]
        elixir_request = pb.ExecuteElixirToolRequest(session_id=SESSION, tool_name="multiply")
        for key, value in {"a": 6, "b": 7}.items():
            elixir_request.parameters[key].CopyFrom(codec.encode_json_any(value))
        validation = {
            "plain": caller(host, "ExecuteTool", request("plain5", PARAMS), 7),
            "tool": caller(host, "ExecuteTool", request("typed5", PARAMS), 7),
            "tool, no memo": caller(host, "ExecuteTool", request("typed5_no_memo", PARAMS), 7),
        }
        to_elixir = {
            "plain (baseline)": validation["plain"],
            "call_elixir_tool": caller(
                host,
                "ExecuteTool",
                request("call_elixir_tool", {"tool_name": "multiply", "parameters": {"a": 6, "b": 7}}),
                42,
            ),
            "proxy by name": caller(host, "ExecuteTool", request("multiply", {"a": 6, "b": 7}), 42),
            "bare ExecuteElixirTool": caller(elixir, "ExecuteElixirTool", elixir_request, 42),
        }
        for call in (*validation.values(), *to_elixir.values()):
            for _ in range(args.warmup):
                call()
        samples = interleaved(validation, args.calls, args.repeat)
        samples.update(interleaved(to_elixir, args.calls, args.repeat))
        loop = request("elixir_loop", {"calls": args.calls})
        samples["ctx.tools.call inside the host"] = [
            codec.decode_any(host.ExecuteTool(loop, timeout=TIMEOUT).result) for _ in range(args.repeat)
        ]
    return samples


def in_process(args: argparse.Namespace) -> dict[str, list[float]]:
    """host.execute without gRPC: the added microseconds, undiluted."""
    import snakepit_tools.plugin as tools_plugin

    from snakepit_host._host import Host
    from snakepit_host._host_config import HostConfig
    from snakepit_host.testing import make_plugin_manager

    manager = make_plugin_manager(tools_plugin, BenchPlugin())
    host = Host(HostConfig(port=0), manager, manager.build_registry())

    def case(name: str) -> Callable[[], Any]:
        return lambda: host.execute(name, dict(PARAMS), session_id=SESSION)

    cases = {"plain": case("plain5"), "tool": case("typed5"), "tool, no memo": case("typed5_no_memo")}
    first_call = {}
    for name, call in cases.items():
        started = time.perf_counter()
        call()  # the first call imports jsonschema and compiles the validator
        first_call[name] = (time.perf_counter() - started) * 1e6
        for _ in range(args.warmup):
            call()
    samples = interleaved(cases, args.calls * 5, args.repeat)
    samples.update({f"first call: {name}": [us] for name, us in first_call.items()})
    return samples


# ---------------------------------------------------------------- output


def main() -> None:
    args = call_options(__doc__)

    from _common import (
        ServerProcess,
        Spread,
        bench_env,
        describe_machine,
        format_number,
        format_spread,
        machine_info,
        python,
        save_run,
        text_table,
    )

    from snakepit_host.testing.elixir_standin import ElixirStandIn

    info = machine_info()
    print(describe_machine(info))
    standin = ElixirStandIn()
    standin.expose_tool("multiply", lambda p: p["a"] * p["b"], parameters=[("a", "integer"), ("b", "integer")])
    elixir_address = standin.start()
    bench_dir = str(Path(__file__).resolve().parent)
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "tools,adapter"]
    argv += ["--adapter", "bench_tools:BenchPlugin", "--elixir-address", elixir_address]
    env = bench_env(PYTHONPATH=bench_dir, SNAKEPIT_LOG_LEVEL="error")
    try:
        with ServerProcess.start("host+tools", argv, env=env) as server:
            grpc_samples = over_grpc(args, server.address, elixir_address)
    finally:
        standin.stop()
    local_samples = in_process(args)

    remote = {name: Spread.of(values) for name, values in grpc_samples.items()}
    local = {name: Spread.of(values) for name, values in local_samples.items()}
    print(f"\nover gRPC, one client, us per call (median of {args.repeat} x {args.calls}, min-max):")
    print(text_table(["case", "us/call"], [[name, format_spread(spread)] for name, spread in remote.items()]))
    print(f"\nin process (host.execute, no gRPC), us per call (median of {args.repeat} x {args.calls * 5}):")
    print(text_table(["case", "us/call"], [[name, format_spread(spread)] for name, spread in local.items()]))

    per_round = [t / p for t, p in zip(grpc_samples["tool"], grpc_samples["plain"], strict=True)]
    ratios = {
        "tool / plain over gRPC (target <= 1.1)": remote["tool"].median / remote["plain"].median,
        "tool / plain over gRPC, median of per-round ratios": statistics.median(per_round),
        "tool without memo / plain over gRPC": remote["tool, no memo"].median / remote["plain"].median,
        "tool / plain in process": local["tool"].median / local["plain"].median,
    }
    print("\nratios:")
    for label, value in ratios.items():
        print(f"  {label}: {value:.3f}")
    print(f"  per-round tool/plain ratios over gRPC: {', '.join(format_number(r) for r in per_round)}")
    added = local["tool"].median - local["plain"].median
    added_no_memo = local["tool, no memo"].median - local["plain"].median
    elixir_leg = remote["call_elixir_tool"].median - remote["plain (baseline)"].median
    print(f"  added by validation + dispatch, in process: {added:.1f} us per call")
    print(f"  the same without the verdict memo: {added_no_memo:.1f} us per call")
    print(f"  Python -> Elixir leg added to a call (call_elixir_tool - plain): {elixir_leg:.0f} us")
    save_run(
        "tools",
        info,
        vars(args),
        grpc_us={name: spread.as_dict() for name, spread in remote.items()},
        in_process_us={name: spread.as_dict() for name, spread in local.items()},
        ratios=ratios,
    )


if __name__ == "__main__":
    main()
