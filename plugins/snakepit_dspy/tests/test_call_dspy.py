"""call_dspy in its richer form (target): allow-listed DSPy names only, looked up exactly.

The seed/DSPex form (module_path, function_name, stored instances) is tested in test_dspex_contract.py.
"""

from __future__ import annotations

import pytest
import snakepit_dspy.plugin
from snakepit_dspy.catalog import CALL_DSPY_NAMES
from snakepit_dspy.testing import Caller

from snakepit_host.testing import running_host


def test_function_call(session: Caller) -> None:
    result = session("call_dspy", target="dspy.make_signature", args=["question -> answer"])
    assert result["target"] == "dspy.signatures.signature.make_signature"
    assert result["result"]["signature"] == "question -> answer"


def test_class_constructed(session: Caller) -> None:
    result = session("call_dspy", target="Example", kwargs={"question": "hi", "answer": "there"})
    assert result == {
        "success": True,
        "target": "dspy.primitives.example.Example",
        "result": {"question": "hi", "answer": "there"},
    }


def test_module_constructed_and_called_with_the_session_lm(session: Caller) -> None:
    session.dummy({"reasoning": "thinking", "answer": "42"})
    result = session(
        "call_dspy", target="dspy.ChainOfThought", args=["question -> answer"], call_kwargs={"question": "meaning?"}
    )
    assert result["result"] == {"reasoning": "thinking", "answer": "42"}


def test_module_constructed_without_call_returns_its_state(session: Caller) -> None:
    result = session("call_dspy", target="dspy.Predict", args=["question -> answer"])
    assert result["result"]["type"] == "dspy.predict.predict.Predict"
    assert result["result"]["state"]["demos"] == []


def test_calling_a_module_needs_an_lm(session: Caller) -> None:
    error = session.fails("call_dspy", target="dspy.Predict", args=["q -> a"], call_kwargs={"q": "x"})
    assert "LM not configured" in error.message


def test_wrong_arguments_are_reported(session: Caller) -> None:
    error = session.fails("call_dspy", target="dspy.Predict", kwargs={"nonsense": 1})
    assert error.message.startswith("call_dspy: calling dspy.Predict failed: TypeError: ")
    assert error.metadata["error_status"] == "INVALID_ARGUMENT"
    assert session("ping")["status"] == "ok"


ALLOW_LIST = "it is not on the allow-list (dspy.Predict, dspy.ChainOfThought"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("os.system", ALLOW_LIST),
        ("dspy.threading.Thread", ALLOW_LIST),
        ("dspy.predict.predict.settings", ALLOW_LIST),
        ("dspy.Predict.__init__", ALLOW_LIST),
        ("dspy.Module.load", ALLOW_LIST),
        ("dspy.predict", ALLOW_LIST),
        ("dspy.Example.copy.__globals__", ALLOW_LIST),
        ("dspy.predict.predict.BaseModel", ALLOW_LIST),
        ("dspy.predict.predict.Predict", ALLOW_LIST),  # an alias path of an allowed class: not its name
        ("dspy.Module", ALLOW_LIST),
        ("dspy.Evaluate", ALLOW_LIST),
        ("dspy.load", "it loads files, unpickling them, so it is not on the allow-list"),
        ("dspy.configure", "it changes process-wide settings, which every session would see"),
        ("dspy.context", "it changes process-wide settings"),
        ("dspy.settings.configure", "it changes process-wide settings"),
        ("dspy.LM", "LMs are configure_lm's"),
        ("dspy.ProgramOfThought", "it runs Python code the LM writes"),
        ("dspy.LocalInterpreter", "it runs code"),
        ("dspy.datasets.HotPotQA", "dataset loaders download over the network"),
    ],
)
def test_refused_names(session: Caller, target: str, reason: str) -> None:
    error = session.fails("call_dspy", target=target)
    assert error.metadata["error_status"] == "PERMISSION_DENIED"
    assert error.message.startswith(f"call_dspy: {target!r} is refused: "), error.message
    assert reason in error.message, error.message
    assert "--dspy-call-allow" in error.message, "the refusal says how the operator adds a name"


def test_every_default_name_resolves_to_what_dspy_defines(session: Caller) -> None:
    from snakepit_dspy.allow_list import AllowList

    assert session("list_dspy_modules")["call_dspy"] == list(CALL_DSPY_NAMES)
    names = AllowList("")
    for name, kind in CALL_DSPY_NAMES.items():
        entry = names.resolve(name)
        assert entry.obj.__module__.startswith("dspy."), name
        assert entry.is_class == (kind != "signature" or name == "dspy.Signature"), name


def test_the_operator_adds_names() -> None:
    options = {"dspy_call_allow": "dspy.majority, dspy.Evaluate, os.system, dspy.no_such_name"}
    with running_host(snakepit_dspy.plugin, options=options) as running:
        session = Caller(running.client(), "operator")
        assert session("list_dspy_modules")["call_dspy"][-3:] == ["dspy.majority", "dspy.Evaluate", "dspy.no_such_name"]
        constructed = session("call_dspy", module_path="dspy.Evaluate", function_name="__init__", kwargs={"devset": []})
        assert constructed["class_name"] == "Evaluate"
        status = session("describe")["status"]["dspy.call_allow"]
        assert status["call_dspy_invalid"] == {"os.system": status["call_dspy_invalid"]["os.system"]}
        error = session.fails("call_dspy", target="os.system")
        assert error.metadata["error_status"] == "PERMISSION_DENIED"
        error = session.fails("call_dspy", target="dspy.no_such_name")
        assert "dspy.no_such_name (listed in --dspy-call-allow" in error.message and "does not resolve" in error.message
