"""DSPex's calls, put on the wire as Snakepit 0.4.1 and 0.6.3 put them, answered as DSPex's Elixir code matches them.

Facts from DSPex (``nshkrdotcom/DSPex`` at 873f3da0, on Snakepit 0.4.1, and 054b055a, on 0.6.3): every
call goes to the wire session ``default_session``; 0.4.1 tags each parameter ``snakepit.<type>``, sends
``[]`` and numeric lists as embeddings and maps and other lists as JSON text inside a string, and
never sends nil; 0.6.3 sends plain JSON under the StringValue URL, nil as ``null``. A result is JSON;
0.4.1 also needs a ``snakepit.<known type>`` URL. Each ``dspex_*`` function below is one of DSPex's
``case`` clauses: a reply it does not match would be a ``CaseClauseError`` in Elixir.

The sequences are those of DSPex's scripts (``examples/dspy/0*.exs``, ``test_snakepit_final.exs``,
``test_schema_bridge.exs``, ``debug_call_dspy.exs``), offline: where a script configures Gemini, the
call is made and checked, and then the session's LM is replaced by the scripted dummy LM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import snakepit_dspy.plugin
from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host.codec import SNAKEPIT_URL_PREFIX, STRING_VALUE_URL
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc
from snakepit_host.testing import RunningHost, running_host

WIRE_SESSION = "default_session"
VERSIONS = ("0.4.1", "0.6.3")
KNOWN_041_RESULT_TYPES = {
    "float",
    "integer",
    "string",
    "boolean",
    "choice",
    "module",
    "embedding",
    "tensor",
    "map",
    "list",
}


class CaseClauseError(AssertionError):
    """A reply DSPex's Elixir code has no clause for."""


# ---------------------------------------------------------------- the wire, as each Snakepit version writes it


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def encode_041(value: Any) -> AnyMessage:
    """Snakepit 0.4.1's ``ClientImpl.infer_and_encode_any/1``."""
    if value is None:
        raise ValueError("Snakepit 0.4.1 refuses nil client-side: the call is never sent")
    if isinstance(value, bool):
        kind, body = "boolean", _json(value)
    elif isinstance(value, int):
        kind, body = "integer", _json(value)
    elif isinstance(value, float):
        kind, body = "float", _json(value)
    elif isinstance(value, str):
        kind, body = "string", _json(value)
    elif isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        kind, body = "embedding", _json([float(v) for v in value])  # [] too
    else:  # maps and other lists: JSON text inside a JSON string
        kind, body = "string", _json(json.dumps(value, separators=(",", ":")))
    return AnyMessage(type_url=SNAKEPIT_URL_PREFIX + kind, value=body)


def encode_063(value: Any) -> AnyMessage:
    """Snakepit 0.6.3: ``Jason.encode!`` of anything under the StringValue URL (nil as null)."""
    return AnyMessage(type_url=STRING_VALUE_URL, value=_json(value))


class DSPex:
    """``Snakepit.execute_in_session(_, command, args)`` of one Snakepit version: send, then decode as Elixir does."""

    def __init__(self, channel: grpc.Channel, version: str, session_id: str = WIRE_SESSION) -> None:
        self.stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        self.version = version
        self.session_id = session_id
        self.encode = encode_041 if version == "0.4.1" else encode_063

    def __call__(self, command: str, args: dict[str, Any]) -> tuple[str, Any]:
        request = pb.ExecuteToolRequest(session_id=self.session_id, tool_name=command)
        for key, value in args.items():
            request.parameters[key].CopyFrom(self.encode(value))
        response = self.stub.ExecuteTool(request, timeout=30)
        if not response.success:
            return ("error", response.error_message)
        if self.version == "0.4.1":
            kind = response.result.type_url.rsplit("/", 1)[-1].removeprefix("snakepit.")
            assert kind in KNOWN_041_RESULT_TYPES, f"0.4.1 answers {{:error, :unknown_type}} for {kind!r}"
        return ("ok", json.loads(response.result.value))

    def in_session(self, session_id: str) -> DSPex:
        """The same client on another wire session (DSPex never does this; other callers do)."""
        other = DSPex.__new__(DSPex)
        other.stub, other.version, other.encode, other.session_id = self.stub, self.version, self.encode, session_id
        return other


# ---------------------------------------------------------------- DSPex's case clauses


def dspex_call_dspy(reply: tuple[str, Any]) -> tuple[str, Any]:
    """``DSPex.Bridge.call_dspy/4``."""
    match reply:
        case ("ok", {"success": True} as result):
            return ("ok", result)
        case ("ok", {"success": False, "error": str(error)}):
            return ("error", error)
        case ("error", str(error)):
            return ("error", error)
    raise CaseClauseError(reply)


def dspex_create_instance(reply: tuple[str, Any]) -> str:
    """``DSPex.Bridge.create_instance/3`` (the scripts hard-match ``{:ok, _}``): the instance id."""
    match dspex_call_dspy(reply):
        case ("ok", {"instance_id": str(instance_id), "type": "constructor"}):
            assert "." not in instance_id and not instance_id.startswith("enhanced_")
            return instance_id
    raise CaseClauseError(reply)


def dspex_predict_execute(reply: tuple[str, Any]) -> dict[str, Any]:
    """``DSPex.Modules.Predict.execute/3`` (hard-matched by the scripts): ``prediction_data``."""
    match dspex_call_dspy(reply):
        case ("ok", {"result": dict(raw)}):
            return raw
    raise CaseClauseError(reply)


def dspex_config_check(reply: tuple[str, Any]) -> str:
    """``DSPex.Config.check_dspy_available/1`` (054b): the version."""
    match reply:
        case ("ok", {"available": True, "version": str(version)}):
            return version
    raise CaseClauseError(reply)


def dspex_configure_lm(reply: tuple[str, Any]) -> tuple[str, Any]:
    """``DSPex.LM.configure/2`` (054b)."""
    match reply:
        case ("ok", {"success": True}):
            return ("ok", "configured")
        case ("ok", {"success": False, "error": str(error)}):
            return ("error", error)
        case ("error", str(error)):
            return ("error", error)
    raise CaseClauseError(reply)


def dspex_execute_enhanced(reply: tuple[str, Any]) -> tuple[str, Any]:
    """``DSPex.Bridge.execute_enhanced/3``."""
    return dspex_call_dspy(reply)  # the same three clauses


def dspex_get_stats(reply: tuple[str, Any]) -> dict[str, Any]:
    """Examples 02/06: ``{:ok, %{"success" => true, "stats" => s}}``, reading five keys."""
    match reply:
        case ("ok", {"success": True, "stats": dict(stats)}):
            for key in (
                "programs_count",
                "has_configured_lm",
                "dspy_version",
                "dspy_available",
                "stored_objects_count",
            ):
                assert key in stats, key
            return stats
    raise CaseClauseError(reply)


def dspex_list_elixir_tools(reply: tuple[str, Any]) -> list[str]:
    """``DSPex.Bridge.list_elixir_tools/1``: every object's ``name`` is a string."""
    match reply:
        case ("ok", {"success": True, "objects": list(objects)}):
            names = [obj["name"] for obj in objects]
            assert all(isinstance(name, str) for name in names)
            return [name.removeprefix("elixir_tool_") for name in names if name.startswith("elixir_tool_")]
    raise CaseClauseError(reply)


def dspex_discover_schema(reply: tuple[str, Any]) -> dict[str, Any]:
    """``DSPex.Bridge.discover_schema/2``, then ``generate_docs/2``, which reads every entry's methods."""
    match reply:
        case ("ok", {"success": True, "schema": dict(schema)}):
            for entry in schema.values():
                assert isinstance(entry["type"], str) and isinstance(entry["docstring"], str)
                for method in entry["methods"].values():  # a missing "methods" map would raise in Elixir
                    assert isinstance(method["signature"], str) and isinstance(method["docstring"], str)
            return schema
    raise CaseClauseError(reply)


def dspex_settings(reply: tuple[str, Any]) -> None:
    """Example 02 interpolates ``lm``, ``rm`` and ``trace``: each a string, nil, number or list of strings."""
    match reply:
        case ("ok", dict(settings)):
            for key in ("lm", "rm", "trace"):
                value = settings.get(key)
                assert (
                    value is None
                    or isinstance(value, (str, int, float))
                    or (isinstance(value, list) and all(isinstance(v, str) for v in value))
                ), (key, value)
            return
    raise CaseClauseError(reply)


def C(dspex: DSPex, module_path: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """The constructor call of the notes: ``call_dspy(module_path, "__init__", [], kwargs)``."""
    return dspex("call_dspy", {"module_path": module_path, "function_name": "__init__", "args": [], "kwargs": kwargs})


def M(dspex: DSPex, instance_id: str, kwargs: dict[str, Any], function_name: str = "__call__") -> tuple[str, Any]:
    """A method call on a stored instance: ``call_dspy("stored.<id>", "__call__", [], inputs)``."""
    args = {"module_path": f"stored.{instance_id}", "function_name": function_name, "args": [], "kwargs": kwargs}
    return dspex("call_dspy", args)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def served() -> Iterator[RunningHost]:
    with running_host(entry_points=True) as running:  # every installed plugin, as a worker serves them
        yield running


@pytest.fixture(params=VERSIONS)
def dspex(request: pytest.FixtureRequest, served: RunningHost) -> Iterator[DSPex]:
    client = served.client()
    # Each test starts from a fresh default_session, as a new worker would.
    client.stub.CleanupSession(pb.CleanupSessionRequest(session_id=WIRE_SESSION), timeout=10)
    yield DSPex(client.channel, request.param)
    client.stub.CleanupSession(pb.CleanupSessionRequest(session_id=WIRE_SESSION), timeout=10)


def scripted(dspex: DSPex, *answers: dict[str, Any]) -> None:
    """The offline stand-in for the scripts' Gemini: the dummy LM in default_session (richer form)."""
    assert dspex_configure_lm(dspex("configure_lm", {"model": "dummy", "answers": list(answers)})) == (
        "ok",
        "configured",
    )


def gemini(dspex: DSPex) -> None:
    """What the scripts send when GEMINI_API_KEY is set: configured, never contacted."""
    args = {"model_type": "gemini", "api_key": "test-gemini-key", "model": "gemini-2.5-flash-lite"}
    ok, result = dspex("configure_lm", args)
    assert dspex_configure_lm((ok, result)) == ("ok", "configured")
    assert result["model"] == "gemini/gemini-2.5-flash-lite" and "test-gemini-key" not in json.dumps(result)


# ---------------------------------------------------------------- the scripts' sequences


def test_snakepit_final(dspex: DSPex) -> None:
    assert dspex("ping", {})[0] == "ok"
    dspex_config_check(dspex("check_dspy", {}))
    dspex_get_stats(dspex("get_stats", {}))
    created = dspex(
        "create_program", {"name": "test_predictor", "program_type": "predict", "signature_name": "question -> answer"}
    )
    match created:
        case ("ok", {"success": True, "name": "test_predictor"}):
            pass
        case _:
            raise CaseClauseError(created)
    scripted(dspex, {"answer": "Paris"})  # the script configures no LM; offline, the dummy stands in
    executed = dspex(
        "execute_program", {"name": "test_predictor", "inputs": {"question": "What is the capital of France?"}}
    )
    match executed:
        case ("ok", {"success": True, "result": {"answer": "Paris"}}):
            pass
        case _:
            raise CaseClauseError(executed)
    stats = dspex_get_stats(dspex("get_stats", {}))
    assert stats["programs"] == ["test_predictor"] and stats["has_configured_lm"] is True


def test_example_01_question_answering(dspex: DSPex) -> None:
    dspex_config_check(dspex("check_dspy", {}))
    gemini(dspex)
    scripted(
        dspex,
        {"answer": "Paris"},
        {"answer": "4"},
        {"answer": "Shakespeare"},
        {"reasoning": "300 miles in 5 hours.", "answer": "60 mph"},
    )
    predictor = dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "question -> answer"}))
    answers = [
        dspex_predict_execute(M(dspex, predictor, {"question": q}))["answer"]
        for q in ("What is the capital of France?", "What is 2 + 2?", "Who wrote Romeo and Juliet?")
    ]
    assert answers == ["Paris", "4", "Shakespeare"]
    thinker = dspex_create_instance(C(dspex, "dspy.ChainOfThought", {"signature": "question -> answer"}))
    question = "If a train travels 120 miles in 2 hours, and then 180 miles in 3 hours, what is its average speed?"
    prediction = dspex_predict_execute(M(dspex, thinker, {"question": question}))
    assert prediction == {"reasoning": "300 miles in 5 hours.", "answer": "60 mph"}
    dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "question -> answer: str"}))


def test_example_02_code_generation(dspex: DSPex) -> None:
    dspex_config_check(dspex("check_dspy", {}))
    scripted(
        dspex,
        *({"code": f"def f{i}(): ...", "explanation": f"explained {i}"} for i in range(3)),
        {"reasoning": "use dynamic programming", "improved_code": "def lcs(a, b): ..."},
    )
    coder = dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "problem -> code, explanation"}))
    for i, problem in enumerate(("Fibonacci", "palindrome", "primes up to n")):
        assert dspex_predict_execute(M(dspex, coder, {"problem": problem}))["code"] == f"def f{i}(): ..."
    react = dspex_call_dspy(C(dspex, "dspy.ReAct", {"signature": "task -> thought, action, observation, answer"}))
    assert react[0] == "error" and "missing 1 required positional argument: 'tools'" in react[1]  # as upstream
    refiner = dspex_create_instance(
        C(dspex, "dspy.ChainOfThought", {"signature": "specification, previous_attempt -> reasoning, improved_code"})
    )
    improved = dspex_predict_execute(M(dspex, refiner, {"specification": "LCS", "previous_attempt": "recursive"}))
    assert improved == {"reasoning": "use dynamic programming", "improved_code": "def lcs(a, b): ..."}
    schema = dspex_discover_schema(dspex("discover_dspy_schema", {"module_path": "dspy"}))
    optimizers = [
        name
        for name, entry in schema.items()
        if entry["type"] == "class" and any(word in name.lower() for word in ("optim", "mipro", "bootstrap"))
    ]
    assert "BootstrapFewShot" in optimizers
    dspex_create_instance(C(dspex, "dspy.BootstrapFewShot", {"metric": "accuracy", "max_bootstrapped_demos": 3}))
    dspex_settings(dspex("get_settings", {}))
    dspex_get_stats(dspex("get_stats", {}))


def test_example_03_document_analysis(dspex: DSPex) -> None:
    dspex_config_check(dspex("check_dspy", {}))
    questions = ("What makes Elixir good?", "How does Phoenix LiveView work?", "What is OTP?")
    scripted(
        dspex,
        *(
            answer
            for i, _ in enumerate(questions)
            for answer in (
                {"search_query": f"query {i}", "intent": "learn"},
                {"reasoning": "from the documents", "answer": f"answer {i}"},
            )
        ),
    )
    search = dspex_create_instance(
        C(dspex, "dspy.Predict", {"signature": "question: str -> search_query: str, intent: str"})
    )
    answerer = dspex_create_instance(
        C(dspex, "dspy.ChainOfThought", {"signature": "question: str, context: str -> answer: str"})
    )
    for i, question in enumerate(questions):
        assert dspex_predict_execute(M(dspex, search, {"question": question}))["intent"] == "learn"
        context = "Elixir runs on the BEAM. OTP provides supervisors."
        assert dspex_predict_execute(M(dspex, answerer, {"question": question, "context": context}))["answer"] == (
            f"answer {i}"
        )
    for signature in (
        "question: str, retrieved_docs: list[str] -> answer: str, sources: list[int]",
        "document: str -> category: str, confidence: float",
        "document: str, category: str -> entities: list[str], relationships: list[str]",
        "document: str, entities: list[str] -> summary: str, key_points: list[str]",
        "question -> answer",
    ):
        predictor = "dspy.ChainOfThought" if "relationships" in signature else "dspy.Predict"
        dspex_create_instance(C(dspex, predictor, {"signature": signature}))


def test_example_06_enhanced_commands_and_introspection(dspex: DSPex) -> None:
    dspex_config_check(dspex("check_dspy", {}))
    cases = (
        ("What are the key symptoms of pneumonia?", "medical"),
        ("How should I diversify my investment portfolio?", "financial"),
        ("What's the best algorithm for sorting large datasets?", "technical"),
    )
    scripted(
        dspex,
        *({"reasoning": f"thinking about {domain}", "answer": f"{domain} answer"} for _, domain in cases),
        {"answer": "A functional language on the BEAM."},
    )
    for question, domain in cases:
        args = {"signature": "question -> reasoning, answer", "question": question, "domain": domain}
        ok, result = dspex_execute_enhanced(dspex("enhanced_chain_of_thought", args))
        assert ok == "ok" and result["type"] == "enhanced_chain_of_thought"
        assert result["result"] == {"reasoning": f"thinking about {domain}", "answer": f"{domain} answer"}
        assert result["ignored_inputs"] == ["domain"], "context the signature lacks is ignored, and said so"
        assert "elixir_validation" not in result  # if present it would have to be a map
    ok, result = dspex_execute_enhanced(
        dspex("enhanced_predict", {"signature": "question -> answer", "question": "What is Elixir?"})
    )
    assert ok == "ok" and result["type"] == "enhanced_predict"
    assert result["result"]["answer"] == "A functional language on the BEAM."
    failed = dspex_execute_enhanced(
        dspex("enhanced_predict", {"signature": "invalid_signature_format", "question": "This should fail"})
    )
    assert failed[0] == "error" and "does not parse" in failed[1] and "exactly one '->'" in failed[1]
    # The signature's input 'problem' is missing ('question' is extra): refused, not run without it.
    args = {"signature": "problem: str -> solution: str, confidence: float", "question": "How to optimize queries?"}
    failed = dspex_execute_enhanced(dspex("enhanced_predict", args))
    assert failed[0] == "error" and failed[1].startswith("missing input(s) problem")

    schema = dspex_discover_schema(dspex("discover_dspy_schema", {"module_path": "dspy"}))
    for name in ("Predict", "ChainOfThought", "ReAct", "ProgramOfThought"):
        assert "__init__" in schema[name]["methods"], name
    assert schema["Predict"]["call_dspy"] is True and schema["ProgramOfThought"]["call_dspy"] is False
    assert set(schema["Predict"]["methods"]) == {"__init__", "__call__", "forward", "dump_state"}
    assert dspex_list_elixir_tools(dspex("list_stored_objects", {})) == []
    dspex_get_stats(dspex("get_stats", {}))


def test_schema_bridge(dspex: DSPex) -> None:
    ok, discovered = dspex("discover_dspy_schema", {})
    assert ok == "ok" and discovered["success"] is True and discovered["discovered_count"] == len(discovered["schema"])
    assert discovered["schema"]["Predict"]["methods"]["__init__"]["signature"].startswith("(self, signature")
    gemini(dspex)
    scripted(dspex, {"answer": "4"})
    predictor = dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "question -> answer"}))
    match dspex_call_dspy(M(dspex, predictor, {"question": "What is 2+2?"})):
        case ("ok", {"success": True, "result": {"answer": "4"}, "type": "method"}):
            pass
        case other:
            raise CaseClauseError(other)
    teleprompt = dspex_discover_schema(dspex("discover_dspy_schema", {"module_path": "dspy.teleprompt"}))
    assert "BootstrapFewShot" in teleprompt


def test_debug_call_dspy(dspex: DSPex) -> None:
    scripted(dspex, {"answer": "ok"})
    args = {"module_path": "dspy.Predict", "function_name": "__init__", "args": ["question -> answer"], "kwargs": {}}
    predictor = dspex_create_instance(dspex("call_dspy", args))
    assert dspex_predict_execute(M(dspex, predictor, {"question": "q"})) == {"answer": "ok"}
    for call in (
        {"module_path": "dspy", "function_name": "Predict", "args": ["question -> answer"], "kwargs": {}},
        {"module_path": "dspy", "function_name": "Predict", "args": [], "kwargs": {"signature": "question -> answer"}},
    ):
        ok, error = dspex_call_dspy(dspex("call_dspy", call))
        assert ok == "error" and "dspy.Predict is a class: construct it with module_path 'dspy.Predict'" in error
    ok, result = dspex_call_dspy(
        dspex("call_dspy", {"module_path": "dspy", "function_name": "make_signature", "args": ["q -> a"], "kwargs": {}})
    )
    assert ok == "ok" and result["type"] == "function" and result["result"]["signature"] == "q -> a"


def test_the_054b_library_calls(dspex: DSPex, monkeypatch: pytest.MonkeyPatch) -> None:
    """DSPex.LM, Examples, Modules.* and Settings at 054b (the 0.6.3 line), whatever the encoding."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # LM.create("mock/gpt-4"): model_type inferred "openai", api_key nil when OPENAI_API_KEY is unset.
    args: dict[str, Any] = {"model_type": "openai", "api_key": None, "model": "mock/gpt-4"}
    if dspex.version == "0.4.1":
        with pytest.raises(ValueError, match="never sent"):
            dspex("configure_lm", args)
    else:
        ok, error = dspex_configure_lm(dspex("configure_lm", args))
        assert ok == "error" and "no API key for model_type 'openai'" in error and "OPENAI_API_KEY" in error
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-worker-environment")
    args["api_key"] = "sk-explicit" if dspex.version == "0.4.1" else None
    ok, configured = dspex("configure_lm", args)
    assert dspex_configure_lm((ok, configured)) == ("ok", "configured") and configured["model"] == "openai/mock/gpt-4"
    assert "sk-" not in json.dumps(configured)
    for model_type, prefix in (("anthropic", "anthropic/"), ("ollama", "ollama/"), ("gemini", "gemini/")):
        ok, configured = dspex("configure_lm", {"model_type": model_type, "api_key": "k", "model": "m"})
        assert configured["success"] is True and configured["model"] == f"{prefix}m", model_type

    example = dspex_create_instance(
        C(dspex, "dspy.Example", {"question": "Test question", "answer": "Test answer", "metadata": {"source": "x"}})
    )
    match dspex_call_dspy(M(dspex, example, {}, function_name="toDict")):
        case ("ok", {"result": {"question": "Test question", "answer": "Test answer", "metadata": {"source": "x"}}}):
            pass
        case other:
            raise CaseClauseError(other)
    dspex_create_instance(C(dspex, "dspy.MultiChainComparison", {"signature": "question -> answer", "M": 3}))
    dspex_create_instance(C(dspex, "dspy.ChainOfThought", {"signature": "question -> answer"}))  # Modules.Retry
    # Refused with the reason: a code interpreter, dataset loaders (network), functions DSPy does not have.
    for module_path, kwargs, reason in (
        ("dspy.ProgramOfThought", {"signature": "question -> answer"}, "it runs Python code the LM writes"),
        ("dspy.datasets.Dataset", {"examples": [{"question": "q"}, f"stored.{example}"]}, "dataset loaders download"),
        ("dspy.datasets.HotPotQA", {"split": "train"}, "dataset loaders download"),
    ):
        ok, error = dspex_call_dspy(C(dspex, module_path, kwargs))
        assert ok == "error" and reason in error and "--dspy-call-allow" in error, module_path
    split = {
        "module_path": "dspy.datasets",
        "function_name": "split_dataset",
        "args": [],
        "kwargs": {"train_size": 0.7},
    }
    ok, error = dspex_call_dspy(dspex("call_dspy", split))
    assert ok == "error" and "'dspy.datasets.split_dataset' is refused" in error
    configure = {"module_path": "dspy.settings", "function_name": "configure", "args": [], "kwargs": {"lm": "x"}}
    ok, error = dspex_call_dspy(dspex("call_dspy", configure))
    assert ok == "error" and "process-wide settings" in error
    dspex_settings(dspex("get_settings", {}))
    names = [obj["name"] for obj in dspex("list_stored_objects", {})[1]["objects"]]
    assert len(names) == 3 and names[0] == example


# ---------------------------------------------------------------- bad input: success false, nothing lost


def instance_names(dspex: DSPex) -> list[str]:
    return [obj["name"] for obj in dspex("list_stored_objects", {})[1]["objects"]]


BAD_CALLS: list[tuple[str, Callable[[str], tuple[str, dict[str, Any]]], str, str]] = [
    (
        "unknown stored id",
        lambda _: (
            "call_dspy",
            {"module_path": "stored.predict_000000", "function_name": "__call__", "args": [], "kwargs": {}},
        ),
        "NOT_FOUND",
        "Stored object not found: 'predict_000000' is not an instance of this session",
    ),
    (
        "private method",
        lambda kept: (
            "call_dspy",
            {"module_path": f"stored.{kept}", "function_name": "_forward", "args": [], "kwargs": {}},
        ),
        "PERMISSION_DENIED",
        "function_name '_forward' is private",
    ),
    (
        "dunder method",
        lambda kept: (
            "call_dspy",
            {"module_path": f"stored.{kept}", "function_name": "__class__", "args": [], "kwargs": {}},
        ),
        "PERMISSION_DENIED",
        "function_name '__class__' is private",
    ),
    (
        "dunder on a class",
        lambda _: (
            "call_dspy",
            {"module_path": "dspy.Predict", "function_name": "__subclasses__", "args": [], "kwargs": {}},
        ),
        "PERMISSION_DENIED",
        "function_name '__subclasses__' is private",
    ),
    (
        "method that is not served",
        lambda kept: (
            "call_dspy",
            {"module_path": f"stored.{kept}", "function_name": "save", "args": ["/tmp/x"], "kwargs": {}},
        ),
        "PERMISSION_DENIED",
        "'save' is not called on a stored Predict (it answers __call__, forward, dump_state)",
    ),
    (
        "unknown model_type",
        lambda _: ("configure_lm", {"model_type": "telepathy", "api_key": "k", "model": "m"}),
        "INVALID_ARGUMENT",
        "configure_lm: unknown model_type 'telepathy'; known: gemini, openai, anthropic, ollama",
    ),
    (
        "signature that does not parse",
        lambda _: (
            "call_dspy",
            {
                "module_path": "dspy.Predict",
                "function_name": "__init__",
                "args": [],
                "kwargs": {"signature": "question answer"},
            },
        ),
        "INVALID_ARGUMENT",
        "call_dspy: constructing dspy.Predict failed: ValueError: Invalid signature format",
    ),
    (
        "signature with an unknown type",
        lambda _: (
            "call_dspy",
            {
                "module_path": "dspy.Predict",
                "function_name": "__init__",
                "args": [],
                "kwargs": {"signature": "q: os.system -> a"},
            },
        ),
        "PERMISSION_DENIED",
        "names a type that is not allowed (Unknown name: os",
    ),
    (
        "unknown program type",
        lambda _: ("create_program", {"name": "p", "program_type": "program_of_thought", "signature_name": "q -> a"}),
        "INVALID_ARGUMENT",
        "unknown program_type 'program_of_thought'; served: predict, chain_of_thought",
    ),
    (
        "unknown program",
        lambda _: ("execute_program", {"name": "nope", "inputs": {"question": "q"}}),
        "NOT_FOUND",
        "unknown program 'nope'",
    ),
]


@pytest.mark.parametrize(("label", "call", "status", "expected"), BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_bad_input_is_answered_success_false(
    dspex: DSPex, label: str, call: Callable[[str], tuple[str, dict[str, Any]]], status: str, expected: str
) -> None:
    scripted(dspex, {"answer": "after"})
    kept = dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "question -> answer"}))
    command, args = call(kept)
    match dspex(command, args):
        case ("ok", {"success": False, "error": str(error), "error_type": error_type}):
            assert expected in error, error
            assert error_type == status
        case other:
            raise CaseClauseError(other)
    assert instance_names(dspex) == [kept], "the session keeps its instances"
    assert dspex_predict_execute(M(dspex, kept, {"question": "still there?"})) == {"answer": "after"}
    assert dspex("ping", {})[0] == "ok"


def test_another_sessions_instance_is_not_found(dspex: DSPex) -> None:
    kept = dspex_create_instance(C(dspex, "dspy.Predict", {"signature": "question -> answer"}))
    other = dspex.in_session("another-session")
    ok, error = dspex_call_dspy(M(other, kept, {"question": "mine now?"}))
    assert ok == "error" and f"Stored object not found: {kept!r} is not an instance of this session" in error
    assert instance_names(other) == [] and instance_names(dspex) == [kept]
    assert dspex("delete_stored_object", {"name": kept})[1] == {"success": True, "deleted": kept, "type": "Predict"}
    assert instance_names(dspex) == []
    assert dspex("delete_stored_object", {"name": kept})[1]["success"] is False


def test_malformed_call_is_refused_by_the_schema(dspex: DSPex) -> None:
    """``DSPex.Context.call/3`` sends the user's inputs as the whole argument map."""
    ok, error = dspex_call_dspy(dspex("call_dspy", {"question": "q"}))
    assert ok == "error" and "unknown parameter 'question'" in error
    assert "give exactly one of 'module_path' and 'function_name', or 'target'" in error


# ---------------------------------------------------------------- instances: per session, bounded, dying with it


def test_instances_die_with_their_session(dspex: DSPex) -> None:
    session = dspex.in_session("short-lived")
    kept = dspex_create_instance(C(session, "dspy.Predict", {"signature": "question -> answer"}))
    assert instance_names(session) == [kept]
    session.stub.CleanupSession(pb.CleanupSessionRequest(session_id="short-lived"), timeout=10)
    ok, error = dspex_call_dspy(M(session, kept, {"question": "q"}))
    assert ok == "error" and "Stored object not found" in error


def test_instances_are_bounded_per_session() -> None:
    with running_host(snakepit_dspy.plugin, options={"dspy_max_instances": 2}) as running:
        dspex = DSPex(running.client().channel, "0.6.3")
        first, second = (dspex_create_instance(C(dspex, "dspy.Example", {"n": i})) for i in range(2))
        dspex_call_dspy(M(dspex, first, {}, function_name="toDict"))  # first is now the most recently used
        third = dspex_create_instance(C(dspex, "dspy.Example", {"n": 2}))
        listing = dspex("list_stored_objects", {})[1]
        assert [obj["name"] for obj in listing["objects"]] == [first, third]
        assert (listing["max_instances"], listing["evicted"]) == (2, 1)
        assert dspex_call_dspy(M(dspex, second, {}, function_name="toDict"))[0] == "error"


def test_instances_expire_when_unused() -> None:
    import time

    from snakepit_dspy.instances import Instances

    instances = Instances(limit=10, ttl=0.05)
    kept, dropped = instances.add("kept", "Example", "data"), instances.add("dropped", "Example", "data")
    time.sleep(0.03)
    instances.get(kept.instance_id)
    time.sleep(0.03)
    assert [stored.instance_id for stored in instances.listing()] == [kept.instance_id]
    assert instances.expired == 1
    with pytest.raises(Exception, match="Stored object not found"):
        instances.get(dropped.instance_id)
