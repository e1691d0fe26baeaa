"""Hostile payloads over a real server: nothing from the wire is executed, imported or written.

Every payload here would leave a trace if the host unpickled, imported or
evaluated it: the pickles open a canary file or import a canary module, the
names point at canary modules (on ``sys.path`` of this process, where the
host runs) whose import writes a file, the quoted types would run code that
writes one, and the traversal names point into the canary directory. After
each case the directory must hold only the module sources, no canary module
(nor ``antigravity`` or ``this``, standard modules with side effects) may be
in ``sys.modules``, and the host must still answer. Each payload is refused
with an error that names the thing and the rule, except where bytes are data
by contract (``echo`` gives them back unchanged). Session and program ids
name nothing on disk, but ids that look like paths out of a folder (``..``
components, a leading slash) are refused anyway, for plugins that might.
"""

from __future__ import annotations

import importlib
import io
import json
import pickle
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from snakepit_variables.testing import RpcFailure, rpc_error, watch_updates

from snakepit_host.codec import SNAKEPIT_URL_PREFIX, STRING_VALUE_URL
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host
from snakepit_host.testing.elixir_standin import ElixirStandIn

CANARY_MODULES = ("snakepit_canary_a", "snakepit_canary_b", "snakepit_canary_c")
SIDE_EFFECT_MODULES = ("antigravity", "this")
SESSION = "hostile"


@dataclass
class Canary:
    """A directory that must stay as it was, and modules that must never be imported."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    def traversal(self, name: str) -> str:
        """A relative path that climbs from the working directory into the canary directory."""
        return "../" * len(Path.cwd().parts) + str(self.directory / name).lstrip("/")

    def assert_untouched(self) -> None:
        sources = {f"{name}.py" for name in CANARY_MODULES}
        assert {p.name for p in self.directory.iterdir() if p.name != "__pycache__"} == sources
        imported = [name for name in (*CANARY_MODULES, *SIDE_EFFECT_MODULES) if name in sys.modules]
        assert not imported, f"imported from the wire: {imported}"


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canary]:
    directory = tmp_path_factory.mktemp("canary")
    for name in CANARY_MODULES:
        (directory / f"{name}.py").write_text(f"open({str(directory / (name + '.imported'))!r}, 'w').close()\n")
    for name in SIDE_EFFECT_MODULES:
        assert name not in sys.modules, f"{name} was imported before the test; the check would mean nothing"
    sys.path.insert(0, str(directory))
    try:
        yield Canary(directory)
    finally:
        sys.path.remove(str(directory))


@pytest.fixture(scope="module")
def served() -> Iterator[RunningHost]:
    with running_host(entry_points=True) as running:
        yield running


@pytest.fixture
def client(served: RunningHost, canary: Canary) -> Iterator[SnakepitClient]:
    client = served.client()
    yield client
    canary.assert_untouched()
    assert client.ping("still serving").endswith("still serving")


def refused(client: SnakepitClient, name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> RemoteError:
    """The error of a refused call; a seed/DSPex-form call answers it as ``success: false``, taken as the same."""
    kwargs.setdefault("session_id", SESSION)
    try:
        result = client.call(name, params or {}, **kwargs)
    except RemoteError as exc:
        return exc
    if isinstance(result, dict) and result.get("success") is False:
        return RemoteError(result["error"], {"error_status": result["error_type"]})
    raise AssertionError(f"{name} accepted a hostile payload: {result!r:.200}")


def rpc_refused(call: Callable[..., Any], request: Any) -> RpcFailure:
    error = rpc_error(call, request, timeout=10)
    assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), error.details()
    return error


# ---------------------------------------------------------------- pickles


class OpensFile:
    """Unpickling this opens (creates) a file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


class Imports:
    """Unpickling this imports a module."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (importlib.import_module, (CANARY_MODULES[0],))


def spkb(header: dict[str, Any], data: bytes) -> bytes:
    """An SPKB payload with any header, however much it lies."""
    encoded = json.dumps(header).encode()
    return struct.pack("<4sBI", b"SPKB", 1, len(encoded)) + encoded + data


@pytest.fixture(scope="module")
def pickles(canary: Canary) -> dict[str, bytes]:
    import numpy

    npy = io.BytesIO()
    numpy.save(npy, numpy.array([OpensFile(canary.path("npy-unpickled"))], dtype=object), allow_pickle=True)
    plain = pickle.dumps(OpensFile(canary.path("unpickled")))
    return {
        "opens a file": plain,
        "imports a module": pickle.dumps(Imports()),
        "numpy .npy holding a pickle": npy.getvalue(),
        "SPKB header claiming dtype object": spkb({"dtype": "object", "shape": [1]}, plain),
    }


def test_pickles_as_binary_parameters(client: SnakepitClient, pickles: dict[str, bytes]) -> None:
    client.call(
        "register_variable",
        {"name": "weights", "type": "tensor", "value": {"shape": [1], "data": [0.5]}},
        session_id=SESSION,
    )
    client.call("configure_lm", {"model": "dummy", "answers": [{"a": "x"}]}, session_id=SESSION)
    client.call("create_program", {"program_id": "p", "signature": "q -> a"}, session_id=SESSION)
    for label, payload in pickles.items():
        if payload.startswith(b"SPKB"):
            assert "unsupported dtype 'object'" in refused(client, "echo", binary={"data": payload}).message
        else:  # bytes are data: handed back as they came, never looked into
            assert client.call("echo", {}, binary={"data": payload}) == payload, label
        places: list[tuple[str, dict[str, Any], str, str]] = [
            ("set_variable", {"name": "weights"}, "value", "weights:"),
            ("register_variable", {"name": "e", "type": "embedding"}, "value", "e:"),
            ("register_variable", {"name": "s", "type": "string"}, "value", "s:"),
            ("split_bill", {"people": 2}, "total", "does not accept binary"),
            ("load_program", {}, "state", "parameter 'state' arrived as binary data, but it does not accept binary"),
            (
                "optimize_program",
                {"program_id": "p", "optimizer": "LabeledFewShot"},
                "trainset",
                "does not accept binary",
            ),
            ("call_dspy", {"target": "dspy.Example"}, "args", "parameter 'args' arrived as binary data"),
            ("configure_lm", {"model": "dummy"}, "answers", "answers"),
        ]
        for command, params, field, expected in places:
            error = refused(client, command, params, binary={field: payload})
            assert error.metadata["error_status"] == "INVALID_ARGUMENT", (label, command, error.message)
            expected = "unsupported dtype 'object'" if payload.startswith(b"SPKB") else expected
            assert expected in error.message, (label, command, error.message)
        with pytest.raises(grpc.RpcError) as caught:
            list(client.stream("payment_schedule", {"amount": "10.00", "months": 2}, binary={"amount": payload}))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _binary_any(type_name: str, meta: dict[str, Any]) -> AnyMessage:
    """0.4.x's ``.binary`` form: a JSON description in the Any, the bytes beside it."""
    return AnyMessage(type_url=f"{SNAKEPIT_URL_PREFIX}{type_name}.binary", value=json.dumps(meta).encode())


def test_pickles_as_variable_binary_values(client: SnakepitClient, pickles: dict[str, bytes]) -> None:
    stub = client.stub
    session = "hostile-rpcs"
    first = pb.RegisterVariableRequest(
        session_id=session,
        name="t",
        type="tensor",
        initial_value=AnyMessage(type_url=SNAKEPIT_URL_PREFIX + "tensor", value=b'{"shape": [1], "data": [1.0]}'),
    )
    assert stub.RegisterVariable(first, timeout=10).success
    for label, payload in pickles.items():
        for meta in ({"binary_format": "pickle", "shape": [1]}, {"binary_format": "spkb", "shape": [1]}, {}):
            value = _binary_any("tensor", meta)
            error = rpc_refused(
                stub.SetVariable,
                pb.SetVariableRequest(session_id=session, variable_identifier="t", value=value, binary_value=payload),
            )
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (label, meta)
            assert error.details().startswith("t: "), error.details()
            if meta.get("binary_format") == "pickle":
                assert "binary_format 'pickle' is refused" in error.details()
            register = pb.RegisterVariableRequest(
                session_id=session, name="u", type="embedding", initial_value=value, initial_binary_value=payload
            )
            assert rpc_refused(stub.RegisterVariable, register).code() == grpc.StatusCode.INVALID_ARGUMENT
        batch = pb.BatchSetVariablesRequest(session_id=session, binary_updates={"t": payload}, atomic=True)
        batch.updates["t"].CopyFrom(_binary_any("tensor", {"shape": [1]}))
        response = stub.SetVariables(batch, timeout=10)
        assert not response.success and "t" in response.errors, label
    assert client.call("get_variable", {"name": "t"}, session_id=session)["version"] == 0


# ---------------------------------------------------------------- Erlang terms


def _etf_bomb() -> bytes:
    """A compressed term that declares 1 KiB but inflates to 16 MiB of zeros (about 16 KiB on the wire)."""
    import zlib

    return b"\x83P" + struct.pack(">I", 1024) + zlib.compress(b"\x00" * (16 << 20), 9)


HOSTILE_TERMS = {
    "fun os:cmd/1 (EXPORT_EXT)": (b"\x83qw\x02osw\x03cmda\x01", "a fun (EXPORT_EXT) is not allowed"),
    "a new atom": (b"\x83l\x00\x00\x00\x01w\x0dElixir.System" + b"j", "the atom 'Elixir.System' is not allowed"),
    "a pid": (b"\x83Xw\x0dnonode@nohost" + b"\x00" * 12, "a pid (NEW_PID_EXT) is not allowed"),
    "a map": (b"\x83t\x00\x00\x00\x01w\x03nilw\x03nil", "a map (MAP_EXT) is not allowed"),
    "4 G elements declared": (b"\x83l\xff\xff\xff\xff" + b"F" * 8, "cannot fit in 8 bytes"),
    "1 M nested lists": (b"\x83" + b"l\x00\x00\x00\x01" * 1_000_000, "lists nest more than 32 deep"),
    "a zip bomb": (_etf_bomb(), "does not inflate to exactly its declared 1024 bytes"),
    "4 GiB declared compressed": (b"\x83P\xff\xff\xff\xff" + b"x\x9c", "at most 67108864 are read"),
}


@pytest.mark.parametrize("label", list(HOSTILE_TERMS))
def test_erlang_terms_outside_the_numeric_subset(client: SnakepitClient, label: str) -> None:
    """Terms that on a BEAM would create atoms or carry code: refused unread, nothing allocated for their claims."""
    payload, message = HOSTILE_TERMS[label]
    stub, session = client.stub, "hostile-etf"
    meta = {"binary_format": "erlang_binary", "dtype": "float32", "shape": [1281], "type": "embedding"}
    value = _binary_any("embedding", meta)
    register = pb.RegisterVariableRequest(
        session_id=session, name="e", type="embedding", initial_value=value, initial_binary_value=payload
    )
    error = rpc_refused(stub.RegisterVariable, register)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("e: Erlang term") and message in error.details(), error.details()
    client.call("register_variable", {"name": "v", "type": "embedding", "value": [0.0]}, session_id=session)
    error = rpc_refused(
        stub.SetVariable,
        pb.SetVariableRequest(session_id=session, variable_identifier="v", value=value, binary_value=payload),
    )
    assert message in error.details()
    batch = pb.BatchSetVariablesRequest(session_id=session, binary_updates={"v": payload}, atomic=True)
    batch.updates["v"].CopyFrom(value)
    response = stub.SetVariables(batch, timeout=10)
    assert not response.success and message in response.errors["v"]
    assert client.call("get_variable", {"name": "v"}, session_id=session)["version"] == 0
    client.call("delete_variable", {"name": "v"}, session_id=session)


def test_a_pathological_pattern_cannot_freeze_the_worker(client: SnakepitClient) -> None:
    """``^(a+)+$`` against 60 a's and a '!' would take Python's re about 2**60 steps, holding the GIL."""
    params = {"name": "p", "type": "string", "value": "aaa", "constraints": {"pattern": "^(a+)+$"}}
    client.call("register_variable", params, session_id=SESSION)
    error = refused(client, "set_variable", {"name": "p", "value": "a" * 60 + "!"}, timeout=10)
    assert "does not match pattern '^(a+)+$'" in error.message
    backreference = {"name": "q", "type": "string", "value": "aa", "constraints": {"pattern": r"^(a)\1$"}}
    error = refused(client, "register_variable", backreference)
    assert "uses a backreference" in error.message and "(RE2) cannot run" in error.message


def test_saved_programs_cannot_carry_code_or_settings(client: SnakepitClient, pickles: dict[str, bytes]) -> None:
    client.call("configure_lm", {"model": "dummy", "answers": [{"a": "x"}]}, session_id=SESSION)
    client.call("create_program", {"program_id": "base", "signature": "q -> a", "replace": True}, session_id=SESSION)
    saved = client.call("get_program_info", {"program_id": "base", "include_state": True}, session_id=SESSION)["saved"]

    def with_predictor(**extra: Any) -> dict[str, Any]:
        return {**saved, "state": {**saved["state"], **extra}}

    engine = {"class": f"{CANARY_MODULES[1]}:Evil", "state": {}}
    predictor = saved["state"]
    cases = [
        (with_predictor(lm=engine), "carries an LM of its own"),
        (with_predictor(config={"api_base": "http://127.0.0.1:9/steal"}), "unknown keys 'config'"),
        (with_predictor(__dict__={}), "unknown keys '__dict__'"),
        ({**saved, "state": {"inner": {**predictor, "forward": "x"}}}, "unknown keys 'inner'"),
        (
            {**saved, "state": {k: v for k, v in predictor.items() if k != "demos"} | {"config": {}}},
            "unknown keys 'config'",
        ),
        ({**saved, "signature": f"q: {CANARY_MODULES[1]} -> a"}, f"Unknown name: {CANARY_MODULES[1]}"),
        ({"format": "pickle", "data": pickles["opens a file"].hex()}, "not a saved program"),
    ]
    for state, expected in cases:
        error = refused(client, "load_program", {"state": state, "program_id": "restored"})
        assert expected in error.message, error.message
    client.call(
        "register_variable",
        {"name": "blob", "type": "string", "value": pickles["opens a file"].hex()},
        session_id=SESSION,
    )
    assert "not a saved program" in refused(client, "load_program", {"variable": "blob"}).message


# ---------------------------------------------------------------- names to import or evaluate

REFUSED_TARGETS = [
    "os.system",
    "builtins.eval",
    "subprocess.Popen",
    "importlib.import_module",
    "__import__",
    "antigravity",
    CANARY_MODULES[2],
    f"dspy.{CANARY_MODULES[2]}",
    "dspy.__builtins__",
    "dspy.Predict.__init__.__globals__",
    "dspy.Predict.__class__.__subclasses__",
    "dspy.Predict.forward.__globals__",
    "dspy.load",
    "dspy.utils.saving.load",
    "dspy.PythonInterpreter",
    "dspy.LM",
    "dspy.File.from_path",
    "dspy.Image.from_url",
    "dspy.Audio",
    "dspy.settings",
    "dspy.Predict.load_state.__code__",
]


@pytest.mark.parametrize("target", REFUSED_TARGETS)
def test_call_dspy_refuses_names_outside_its_namespace(client: SnakepitClient, target: str) -> None:
    error = refused(client, "call_dspy", {"target": target, "args": [str(Path("/etc/hostname"))]})
    assert error.metadata["error_status"] == "PERMISSION_DENIED"
    assert error.message.startswith(f"call_dspy: {target[:120]!r} is refused: "), error.message


LAZY_IMPORTERS = [
    # DSPy's lazy importer, reachable by walking attributes: importlib.util.find_spec imports the parent package.
    "dspy.predict.knn.require",
    "dspy.adapters.types.reasoning.require",
    # Alias paths: modules reachable from other dspy modules.
    "dspy.evaluate.evaluate.dspy.predict.knn.require",
    "dspy.primitives.module.dspy.predict.knn.require",
]


@pytest.mark.parametrize("target", LAZY_IMPORTERS)
def test_call_dspy_reaches_no_importer_by_any_path(client: SnakepitClient, canary: Canary, target: str) -> None:
    """Names are looked up in the allow-list, exactly: nothing is walked, so no importer is ever reached."""
    module = f"{CANARY_MODULES[0]}.sub"  # importing 'x.sub' imports x, which writes a canary file
    error = refused(client, "call_dspy", {"target": target, "args": [module]})
    assert error.metadata["error_status"] == "PERMISSION_DENIED" and "not on the allow-list" in error.message
    path, _, function = target.rpartition(".")
    seed = {"module_path": path, "function_name": function, "args": [module], "kwargs": {}}
    error = refused(client, "call_dspy", seed)  # DSPex's form: answered as success: false
    assert error.metadata["error_status"] == "PERMISSION_DENIED" and "not on the allow-list" in error.message
    # canary.assert_untouched() runs after the test (the client fixture)


def test_call_dspy_reaches_the_allow_list_and_nothing_else(client: SnakepitClient) -> None:
    """Of every public name of dspy and of some of its submodules, only the allow-list is not refused."""
    import dspy
    from snakepit_dspy.catalog import CALL_DSPY_NAMES

    modules = (dspy, dspy.predict, dspy.teleprompt, dspy.primitives, dspy.utils, dspy.adapters, dspy.clients)
    reached = set()
    for module in modules:
        for name in (n for n in dir(module) if not n.startswith("_")):
            target = f"{module.__name__}.{name}"
            try:
                client.call("call_dspy", {"target": target}, session_id=SESSION)
            except RemoteError as exc:
                if exc.metadata["error_status"] == "PERMISSION_DENIED":
                    continue
            reached.add(target)  # called, or failed for its arguments (none were given)
    assert reached == set(CALL_DSPY_NAMES)


def _quoted(canary: Canary) -> str:
    """A quoted type: pydantic would evaluate it as Python, which would write a canary file."""
    return repr(f"open({str(canary.path('evaluated'))!r}, 'w') and str")


def hostile_signatures(canary: Canary) -> list[tuple[str, str]]:
    module = CANARY_MODULES[1]
    return [
        (f"question: {module} -> answer", f"Unknown name: {module}"),
        ("question: antigravity -> answer", "Unknown name: antigravity"),
        ("question: this.s -> answer", "Unknown name: this"),
        ("question: os.system -> answer", "Unknown name: os"),
        ("question: str.__class__.__subclasses__ -> answer", "private attribute '__subclasses__'"),
        ("question: dspy.__builtins__ -> answer", "private attribute '__builtins__'"),
        (f"question: {_quoted(canary)} -> answer", "would be evaluated as Python"),
        (f"question: list[{_quoted(canary)}] -> answer", "would be evaluated as Python"),
        (f"question: Optional[{_quoted(canary)}] -> answer", "would be evaluated as Python"),
        (f"question: Literal[{module}] -> answer", f"Unknown name: {module}"),
    ]


def test_signatures_that_name_modules_or_code_are_refused(client: SnakepitClient, canary: Canary) -> None:
    session = "hostile-signatures"
    client.call("configure_lm", {"model": "dummy", "answers": [{"answer": "x"}] * 3}, session_id=session)
    for signature, expected in hostile_signatures(canary):
        fields = signature.split("->")[0].split(":", 1)
        as_object = {"inputs": [{"name": "question", "type": fields[1].strip()}], "outputs": [{"name": "answer"}]}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("enhanced_predict", {"signature": signature, "question": "q"}),
            ("enhanced_chain_of_thought", {"signature": signature, "question": "q"}),
            ("create_program", {"program_id": "p", "signature": signature}),
            ("discover_dspy_schema", {"signature": signature}),
            ("enhanced_predict", {"signature": as_object, "question": "q"}),
            ("call_dspy", {"target": "dspy.Predict", "args": [signature]}),
            ("call_dspy", {"target": "dspy.Signature", "args": [signature]}),
            ("call_dspy", {"target": "dspy.ChainOfThought", "kwargs": {"signature": signature}}),
        ]
        for command, params in calls:
            error = refused(client, command, params, session_id=session)
            assert expected in error.message, (command, error.message)
        streamed = client.stream(
            "stream_chain_of_thought", {"signature": signature, "question": "q"}, session_id=session
        )
        failure = rpc_error(list, streamed)
        assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert expected in failure.details()
    # The LM was never reached: all three scripted answers are still there.
    assert client.call("check_dspy", {}, session_id=session)["lm"]["answers_remaining"] == 3


def test_module_names_in_variables_stay_text(client: SnakepitClient) -> None:
    session = "hostile-modules"
    for name in (CANARY_MODULES[0], "antigravity"):
        variable = client.call("register_variable", {"name": name, "type": "module", "value": name}, session_id=session)
        assert variable["value"] == name  # stored as a name; never imported
    client.call("configure_lm", {"model": "dummy", "answers": [{"answer": "x"}]}, session_id=session)
    client.call("create_program", {"program_id": "p", "signature": "q -> a"}, session_id=session)
    binding = {"setting": "module_type", "variable": CANARY_MODULES[0], "program_id": "p"}
    try:
        client.call("bind_dspy_variable", binding, session_id=session)
    except RemoteError as exc:  # refused when bound
        assert "module type must be one of" in exc.message
    else:  # or when the program runs
        error = refused(client, "execute_program", {"program_id": "p", "q": "x"}, session_id=session)
        assert "module type must be one of" in error.message
    for module in (CANARY_MODULES[0], "antigravity", "os", "dspy.__builtins__", "dspy..predict"):
        error = refused(client, "discover_dspy_schema", {"module": module}, session_id=session)
        assert "module must be 'dspy' or a public dspy submodule" in error.message, error.message


# ---------------------------------------------------------------- names with traversal, control characters, size

CONTROL = ["a\x00b", "line\nbreak", "\x1b[31mred", "tab\there", "bell\x07"]
HUGE = "n" * 100_000


def test_hostile_variable_and_tool_names_are_refused(client: SnakepitClient, canary: Canary) -> None:
    for name in ["../../etc/passwd", canary.traversal("written"), "/etc/passwd", *CONTROL, HUGE]:
        error = refused(client, "register_variable", {"name": name, "type": "string", "value": "x"})
        assert "must start with a letter or '_'" in error.message and len(error.message) < 1000
        rpc = pb.RegisterVariableRequest(session_id=SESSION, name=name, type="string")
        assert "must start with a letter" in rpc_refused(client.stub.RegisterVariable, rpc).details()
        assert "unknown variable" in refused(client, "get_variable", {"name": name}).message
        error = refused(client, name)
        assert error.message.startswith("unknown command ") and len(error.message) < 1000
        assert "is not a known tool" in refused(client, "describe_tool", {"name": name}).message
        with pytest.raises(grpc.RpcError) as caught:
            list(client.stream(name))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_hostile_session_ids(client: SnakepitClient, served: RunningHost, canary: Canary) -> None:
    for session_id in [*CONTROL, HUGE[:300], "../../etc/passwd", canary.traversal("session"), "/etc/passwd"]:
        error = refused(client, "echo", session_id=session_id)
        assert error.message.startswith("session id "), error.message
        assert len(error.message) < 1000
        response = client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session_id), timeout=10)
        assert not response.success and response.error_message.startswith("session id ")
        assert session_id not in served.host.sessions.ids()
    for session_id in ["users/42", "a..b", "x.y-z"]:  # slashes and dots inside an id are fine
        assert client.call("echo", {"k": 1}, session_id=session_id) == {"k": 1}
        assert client.stub.CleanupSession(pb.CleanupSessionRequest(session_id=session_id), timeout=10).success


def test_hostile_program_ids(client: SnakepitClient, canary: Canary) -> None:
    session = "hostile-programs"
    client.call("configure_lm", {"model": "dummy", "answers": [{"a": "x"}]}, session_id=session)
    for program_id in [*CONTROL, HUGE, "../../etc/passwd", canary.traversal("program")]:
        error = refused(client, "create_program", {"program_id": program_id, "signature": "q -> a"}, session_id=session)
        assert error.message.startswith("program id "), error.message
        assert len(error.message) < 1000
    created = client.call("create_program", {"program_id": "team/p1", "signature": "q -> a"}, session_id=session)
    assert created["program_id"] == "team/p1"
    error = refused(client, "save_program", {"program_id": "team/p1", "variable": "team/p1"}, session_id=session)
    assert "must start with a letter or '_'" in error.message


def test_describe_tool_does_not_echo_a_huge_name(client: SnakepitClient) -> None:
    error = refused(client, "describe_tool", {"name": HUGE})
    assert "is not a known tool" in error.message and len(error.message) < 1000


# ---------------------------------------------------------------- issue 13: floods, type tricks, huge identifiers


def test_a_20_mb_unknown_tool_name_is_refused_without_searching(client: SnakepitClient) -> None:
    name = "x" * 20_000_000  # the "did you mean" search over it took seconds and ~380 MB
    error = refused(client, name)
    assert error.metadata["error_status"] == "NOT_FOUND"
    assert "(20,000,000 characters; names are at most 64 bytes)" in error.message
    assert "did you mean" not in error.message and len(error.message) < 200
    streamed = rpc_error(list, client.stream(name[:1_000_000]))
    assert streamed.code() == grpc.StatusCode.NOT_FOUND
    assert "names are at most 64 bytes" in streamed.details()


def test_a_watch_of_100k_patterns_is_refused(client: SnakepitClient) -> None:
    session = "hostile-watch"
    client.call("register_variable", {"name": "t1", "type": "integer", "value": 0}, session_id=session)
    flood = pb.WatchVariablesRequest(session_id=session, variable_identifiers=[f"t{n}*" for n in range(100_000)])
    error = rpc_refused(lambda request, timeout: next(client.stub.WatchVariables(request, timeout=timeout)), flood)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "a watch follows at most 1024 names or patterns, got 100,000"
    long_pattern = pb.WatchVariablesRequest(session_id=session, variable_identifiers=["t" * 300 + "*"])
    error = rpc_refused(
        lambda request, timeout: next(client.stub.WatchVariables(request, timeout=timeout)), long_pattern
    )
    assert "is not a string of at most 256 characters" in error.details()
    # Up to the limit is fine, and every write is matched against all 1,024 at once.
    allowed = [f"t{n}*" for n in range(1023)] + ["t1"]
    stream, updates = watch_updates(client.stub, session, allowed, include_initial=True)
    try:
        assert updates.get(timeout=10).variable.name == "t1"
        client.call("set_variable", {"name": "t1", "value": 1}, session_id=session)
        assert updates.get(timeout=10).variable.version == 1
    finally:
        stream.cancel()


TYPE_URL_TRICKS = ["__dir__", "__class__", "__init__", "json_format", "descriptor", "Timestamp", "message"]


def test_type_url_tricks_and_deep_json_are_invalid_arguments(client: SnakepitClient) -> None:
    values = [
        AnyMessage(type_url=f"type.googleapis.com/google.protobuf.{tail}", value=b"\x08\x01")
        for tail in TYPE_URL_TRICKS
    ]
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    values += [AnyMessage(type_url=url, value=deep) for url in (SNAKEPIT_URL_PREFIX + "list", STRING_VALUE_URL)]
    for value in values:
        request = pb.ExecuteToolRequest(tool_name="echo", session_id=SESSION)
        request.parameters["x"].CopyFrom(value)
        response = client.stub.ExecuteTool(request, timeout=10)
        assert not response.success and response.metadata["error_status"] == "INVALID_ARGUMENT", response
        assert response.error_message.startswith("parameter 'x': value of type ")
        register = pb.RegisterVariableRequest(session_id=SESSION, name="deep", type="json", initial_value=value)
        assert rpc_refused(client.stub.RegisterVariable, register).code() == grpc.StatusCode.INVALID_ARGUMENT
    constraints = pb.RegisterVariableRequest(
        session_id=SESSION,
        name="c",
        type="float",
        initial_value=AnyMessage(type_url=STRING_VALUE_URL, value=b"1"),
        constraints_json=deep.decode(),
    )
    assert rpc_refused(client.stub.RegisterVariable, constraints).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_huge_identifiers_in_variable_errors_keep_their_status(client: SnakepitClient) -> None:
    client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=SESSION), timeout=10)
    get = pb.GetVariableRequest(session_id=SESSION, variable_identifier=HUGE)
    error = rpc_refused(client.stub.GetVariable, get)  # was RESOURCE_EXHAUSTED "Stream removed"
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details().startswith("unknown variable 'nnnn") and error.details().endswith(" more bytes)")
    assert len(error.details()) < 4200
    batch = pb.BatchSetVariablesRequest(session_id=SESSION)
    for n in range(20):
        batch.updates[f"{n}{HUGE}"].CopyFrom(AnyMessage(type_url=STRING_VALUE_URL, value=b"1"))
    error = rpc_refused(client.stub.SetVariables, batch)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and len(error.details()) < 4200


def test_an_unreadable_elixir_tool_spec_hides_only_that_tool(elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("good", lambda p: p["a"] * 2, parameters=[("a", "integer")])
    for name in ("deep_rule", "odd_default"):
        elixir_standin.expose_tool(name, lambda p: "ran", parameters=[("a", "integer")])
    elixir_standin.exposed["deep_rule"][1].parameters[0].validation_json = "[" * 5000 + "]" * 5000
    odd = AnyMessage(type_url="type.googleapis.com/google.protobuf.__dir__", value=b"\x00")
    elixir_standin.exposed["odd_default"][1].parameters[0].default_value.CopyFrom(odd)
    with running_host(entry_points=True, elixir_address=elixir_standin.address) as running:
        client = running.client()
        listed = client.call("list_tools", {"language": "elixir"}, session_id="s")["tools"]
        assert sorted(t["name"] for t in listed) == ["good", "odd_default"]  # that default is dropped
        assert "default" not in next(t for t in listed if t["name"] == "odd_default")["parameters"]["properties"]["a"]
        assert client.call("good", {"a": 21}, session_id="s") == 42
        assert client.call("odd_default", {"a": 1}, session_id="s") == "ran"
        assert refused(client, "deep_rule", {"a": 1}, session_id="s").metadata["error_status"] == "NOT_FOUND"


# ---------------------------------------------------------------- issue 13 item 5: exposure


def test_binding_anything_but_loopback_warns_loudly() -> None:
    from hostproc import HostProcess, python

    warning = "NOT ONLY ON THIS MACHINE: snakepit-host has no authentication and no encryption"
    for bind_host, warned in [("0.0.0.0", True), ("127.0.0.1", False)]:
        host = HostProcess([python(), "-m", "snakepit_host", "serve", "--port", "0", "--host", bind_host])
        try:
            host.wait_ready()
            host.process.terminate()
            assert host.wait() == 0
        finally:
            if host.process.poll() is None:
                host.process.kill()
        assert (warning in host.stderr) is warned, (bind_host, host.stderr)
        assert ("docs/snakepit.md, 'Trust model'" in host.stderr) is warned
