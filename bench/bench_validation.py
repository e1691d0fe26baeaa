"""The host's parameter validator: what it adds to a call, and jsonschema against fastjsonschema.

Every command and tool is checked against its JSON schema before its handler
runs (``snakepit_host/_parameters.py``). Measured here, all in one run:

- the host's call path (``host.execute``, no gRPC) and a host subprocess over
  gRPC, ``--repeat`` times interleaved, for a command ``echo5(ctx, params)``
  registered three ways: without a schema (the baseline, ``unvalidated``);
  with a realistic schema of five parameters with ranges, a length and an
  enum (``validated``), which the verdict memo answers once jsonschema has
  accepted the same values; and with a ``pattern`` added, which the memo
  leaves to jsonschema on every call (``validated, no memo``). Plus the
  realistic command given failing input (six problems, all reported at
  once). Target for the ratio validated / unvalidated over gRPC: <= 1.1;
- the two libraries alone, on that realistic schema: jsonschema's
  ``is_valid`` and ``iter_errors`` against fastjsonschema's compiled
  function, on passing and on failing input; how many problems each reports;
  what importing and compiling costs (fresh interpreters); and whether each
  gives draft 2020-12's verdict on a tuple parameter (``prefixItems``), the
  schema the host derives for ``tuple[int, str]``.

    .venv/bin/python bench/bench_validation.py            # ~1 minute
    .venv/bin/python bench/bench_validation.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import (
    CHANNEL_OPTIONS,
    ServerProcess,
    Spread,
    bench_env,
    call_options,
    describe_machine,
    format_spread,
    interleaved,
    machine_info,
    python,
    save_run,
    text_table,
)

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host import Registrar, SessionContext

SESSION = "bench"
TIMEOUT = 120.0
REALISTIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 4000, "description": "what to answer"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "max_tokens": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "mode": {"type": "string", "enum": ["fast", "careful"]},
        "stream": {"type": "boolean", "default": False},
    },
    "required": ["prompt", "temperature", "max_tokens"],
    "additionalProperties": False,
}
NO_MEMO_SCHEMA: dict[str, Any] = {
    **REALISTIC_SCHEMA,
    "properties": {**REALISTIC_SCHEMA["properties"], "prompt": {"type": "string", "pattern": "\\S"}},
}
"""The same with a ``pattern`` on ``prompt``, which the verdict memo does not judge: jsonschema runs every call."""
PARAMS: dict[str, Any] = {
    "prompt": "Summarise this.",
    "temperature": 0.7,
    "max_tokens": 256,
    "mode": "fast",
    "stream": False,
}
FAILING: dict[str, Any] = {
    "prompt": "",
    "temperature": 3,
    "max_tokens": "many",
    "mode": "quick",
    "stream": "no",
    "x": 1,
}
TUPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        }
    },
}
TUPLE_CASES: list[tuple[dict[str, Any], bool]] = [({"pair": [7, "seven"]}, True), ({"pair": ["seven", 7]}, False)]
"""Draft 2020-12's verdicts: ``[7, "seven"]`` fits ``tuple[int, str]``, ``["seven", 7]`` does not."""


# ---------------------------------------------------------------- the plugin the host loads


def echo5(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """The command under test: answers one of its parameters."""
    return params["max_tokens"]


class BenchPlugin:
    @hookimpl
    def register_commands(self, register: Registrar) -> None:
        register.command("unvalidated", echo5)
        register.command("validated", echo5, parameters=REALISTIC_SCHEMA)
        register.command("validated_no_memo", echo5, parameters=NO_MEMO_SCHEMA)


# ---------------------------------------------------------------- measuring


def refused(call: Callable[[], Any]) -> Callable[[], None]:
    """A call that must fail (with every problem listed); anything else stops the run."""

    def attempt() -> None:
        try:
            call()
        except Exception as exc:
            if "6 problems with the parameters" not in str(exc):
                raise SystemExit(f"unexpected refusal: {exc}") from None
            return
        raise SystemExit("failing input was accepted")

    return attempt


def in_process(args: argparse.Namespace) -> dict[str, list[float]]:
    """host.execute without gRPC: what validation adds, undiluted."""
    from snakepit_host import InvalidArgument
    from snakepit_host._host import Host
    from snakepit_host._host_config import HostConfig
    from snakepit_host.testing import make_plugin_manager

    manager = make_plugin_manager(BenchPlugin())
    host = Host(HostConfig(port=0), manager, manager.build_registry())

    def case(name: str, params: dict[str, Any]) -> Callable[[], Any]:
        return lambda: host.execute(name, dict(params), session_id=SESSION)

    cases = {
        "unvalidated": case("unvalidated", PARAMS),
        "validated": case("validated", PARAMS),
        "validated, no memo": case("validated_no_memo", PARAMS),
        "failing input (6 problems)": refused(case("validated", FAILING)),
    }
    try:
        case("validated", FAILING)()
    except InvalidArgument as exc:
        print(f"\nthe failing input is answered with:\n  {exc}")
    for call in cases.values():
        for _ in range(args.warmup):
            call()
    return interleaved(cases, args.calls * 5, args.repeat)


def over_grpc(args: argparse.Namespace, address: str) -> dict[str, list[float]]:
    import grpc

    from snakepit_host import codec
    from snakepit_host.proto import snakepit_bridge_pb2 as pb
    from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

    def caller(stub: Any, name: str, params: dict[str, Any], ok: bool = True) -> Callable[[], None]:
        message = pb.ExecuteToolRequest(session_id=SESSION, tool_name=name)
        for key, value in params.items():
            message.parameters[key].CopyFrom(codec.encode_json_any(value))

        def call() -> None:
            response = stub.ExecuteTool(message, timeout=TIMEOUT)
            if response.success != ok or (ok and codec.decode_any(response.result) != PARAMS["max_tokens"]):
                raise SystemExit(f"{name}: unexpected answer {response}")

        return call

    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        cases = {
            "unvalidated": caller(stub, "unvalidated", PARAMS),
            "validated": caller(stub, "validated", PARAMS),
            "validated, no memo": caller(stub, "validated_no_memo", PARAMS),
            "failing input (6 problems)": caller(stub, "validated", FAILING, ok=False),
        }
        for call in cases.values():
            for _ in range(args.warmup):
                call()
        return interleaved(cases, args.calls, args.repeat)


# ---------------------------------------------------------------- the two libraries


def libraries(args: argparse.Namespace) -> dict[str, Any]:
    """Per-call cost, problems reported, start-up cost and draft 2020-12 verdicts of each library."""
    import importlib

    import jsonschema  # type: ignore[import-untyped]

    try:
        fastjsonschema: Any = importlib.import_module("fastjsonschema")
    except ImportError:
        fastjsonschema = None

    validator = jsonschema.Draft202012Validator(REALISTIC_SCHEMA)
    cases: dict[str, Callable[[], Any]] = {
        "jsonschema is_valid, passing": lambda: validator.is_valid(PARAMS),
        "jsonschema iter_errors, failing (all problems)": lambda: list(validator.iter_errors(FAILING)),
    }
    found: dict[str, Any] = {"jsonschema": [e.message for e in validator.iter_errors(FAILING)]}
    verdicts = {"jsonschema": _verdicts(lambda s: jsonschema.Draft202012Validator(s).is_valid)}
    if fastjsonschema is not None:
        compiled = fastjsonschema.compile(REALISTIC_SCHEMA)

        def fast_failing() -> None:
            try:
                compiled(FAILING)
            except fastjsonschema.JsonSchemaException:
                return

        cases["fastjsonschema, passing"] = lambda: compiled(PARAMS)
        cases["fastjsonschema, failing (first problem)"] = fast_failing
        try:
            compiled(FAILING)
        except fastjsonschema.JsonSchemaException as exc:
            found["fastjsonschema"] = [exc.message]
        verdicts["fastjsonschema"] = _verdicts(lambda s: _fast_is_valid(fastjsonschema.compile(s)))
    for call in cases.values():
        for _ in range(args.warmup):
            call()
    samples = interleaved(cases, args.calls * 5, args.repeat)
    startup = {name: _startup_ms(name, args.repeat) for name in ("jsonschema", "fastjsonschema") if name in found}
    return {"samples": samples, "problems": found, "verdicts": verdicts, "startup_ms": startup}


def _fast_is_valid(compiled: Callable[[Any], Any]) -> Callable[[Any], bool]:
    import importlib

    fastjsonschema: Any = importlib.import_module("fastjsonschema")

    def is_valid(instance: Any) -> bool:
        try:
            compiled(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


def _verdicts(make: Callable[[dict[str, Any]], Callable[[Any], bool]]) -> list[bool]:
    """Whether each TUPLE_CASES verdict is draft 2020-12's."""
    is_valid = make(TUPLE_SCHEMA)
    return [is_valid(instance) == expected for instance, expected in TUPLE_CASES]


_STARTUP = {
    "jsonschema": (
        "from jsonschema import validators; "
        "cls = validators.validator_for(schema, default=validators.Draft202012Validator); "
        "cls.check_schema(schema); v = cls(schema); v.is_valid(params)"
    ),
    "fastjsonschema": "import fastjsonschema; f = fastjsonschema.compile(schema); f(params)",
}


def _startup_ms(library: str, repeat: int) -> list[float]:
    """Import + compile + first check, each in a fresh interpreter (what a worker's first validated call pays)."""
    code = (
        "import json, sys, time; schema, params = json.loads(sys.argv[1]); t = time.perf_counter(); "
        f"{_STARTUP[library]}; print((time.perf_counter() - t) * 1000)"
    )
    payload = json.dumps([REALISTIC_SCHEMA, PARAMS])
    return [
        float(subprocess.run([python(), "-c", code, payload], capture_output=True, text=True, check=True).stdout)
        for _ in range(max(3, repeat))
    ]


# ---------------------------------------------------------------- output


def main() -> None:
    args = call_options(__doc__)
    info = machine_info()
    print(describe_machine(info))
    bench_dir = str(Path(__file__).resolve().parent)
    argv = [python(), "-m", "snakepit_host", "serve", "--port", "0", "--plugins", "adapter"]
    argv += ["--adapter", "bench_validation:BenchPlugin"]
    env = bench_env(PYTHONPATH=bench_dir, SNAKEPIT_LOG_LEVEL="error")
    with ServerProcess.start("host", argv, env=env) as server:
        remote_samples = over_grpc(args, server.address)
    local_samples = in_process(args)
    library_results = libraries(args)

    remote = {name: Spread.of(values) for name, values in remote_samples.items()}
    local = {name: Spread.of(values) for name, values in local_samples.items()}
    library = {name: Spread.of(values) for name, values in library_results["samples"].items()}
    tables = [
        (f"over gRPC, one client, us per call (median of {args.repeat} x {args.calls}, min-max):", remote),
        (f"in process (host.execute, no gRPC), us per call (median of {args.repeat} x {args.calls * 5}):", local),
        (f"the libraries alone, realistic 5-parameter schema, us per check (median of {args.repeat}):", library),
    ]
    for title, spreads in tables:
        print(f"\n{title}")
        print(text_table(["case", "us"], [[name, format_spread(spread)] for name, spread in spreads.items()]))

    base = "unvalidated"
    per_round = [v / u for v, u in zip(remote_samples["validated"], remote_samples[base], strict=True)]
    ratios = {
        "validated / unvalidated over gRPC (target <= 1.1)": remote["validated"].median / remote[base].median,
        "  median of per-round ratios": statistics.median(per_round),
        "validated, no memo / unvalidated over gRPC": remote["validated, no memo"].median / remote[base].median,
        "validated / unvalidated in process": local["validated"].median / local[base].median,
        "validated, no memo / unvalidated in process": local["validated, no memo"].median / local[base].median,
    }
    print("\nratios:")
    for label, value in ratios.items():
        print(f"  {label}: {value:.3f}")
    for label in ("validated", "validated, no memo", "failing input (6 problems)"):
        print(f"  added in process, {label}: {local[label].median - local[base].median:.1f} us per call")

    print("\nproblems reported for the failing input:")
    for name, problems in library_results["problems"].items():
        print(f"  {name}: {len(problems)}: {'; '.join(problems)}")
    print("import + compile + first check, fresh interpreter (ms, median, min-max):")
    for name, values in library_results["startup_ms"].items():
        print(f"  {name}: {format_spread(Spread.of(values))}")
    print("draft 2020-12 verdicts on tuple[int, str] (prefixItems), right / asked:")
    for name, right in library_results["verdicts"].items():
        print(f"  {name}: {sum(right)} / {len(right)}")
    if "fastjsonschema" not in library_results["problems"]:
        print("  (fastjsonschema is not installed: pip install fastjsonschema to compare)")

    save_run(
        "validation",
        info,
        vars(args),
        grpc_us={name: spread.as_dict() for name, spread in remote.items()},
        in_process_us={name: spread.as_dict() for name, spread in local.items()},
        libraries_us={name: spread.as_dict() for name, spread in library.items()},
        ratios=ratios,
        problems=library_results["problems"],
        startup_ms=library_results["startup_ms"],
        verdicts=library_results["verdicts"],
    )


if __name__ == "__main__":
    main()
