"""call_dspy reaches public dspy functions and classes, and nothing else."""

from __future__ import annotations

import pytest
from snakepit_dspy.testing import Caller


def test_function_call(session: Caller) -> None:
    result = session("call_dspy", target="dspy.make_signature", args=["question -> answer"])
    assert result["target"] == "dspy.signatures.signature.make_signature"
    assert result["result"]["signature"] == "question -> answer"


def test_class_constructed(session: Caller) -> None:
    result = session("call_dspy", target="Example", kwargs={"question": "hi", "answer": "there"})
    assert result == {"target": "dspy.primitives.example.Example", "result": {"question": "hi", "answer": "there"}}


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
    assert "no LM configured" in error.message


def test_wrong_arguments_are_reported(session: Caller) -> None:
    error = session.fails("call_dspy", target="dspy.Predict", kwargs={"nonsense": 1})
    assert "TypeError" in error.message
    assert session("ping")["status"] == "ok"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("os.system", "dspy has no 'os'"),
        ("dspy.threading.Thread", "'threading' is not a dspy module or class"),
        ("dspy.predict.predict.settings", "'settings' is on the deny list"),
        ("dspy.Predict.__init__", "'__init__' is not a public name"),
        ("dspy.load", "'load' is on the deny list"),
        ("dspy.Module.load", "'load' is on the deny list"),
        ("dspy.configure", "'configure' is on the deny list"),
        ("dspy.context", "'context' is on the deny list"),
        ("dspy.LM", "'LM' is on the deny list"),
        ("dspy.ProgramOfThought", "'ProgramOfThought' is on the deny list"),
        ("dspy.LocalInterpreter", "'LocalInterpreter' is on the deny list"),
        ("dspy.predict", "it is a module"),
        ("dspy.Example.copy.__globals__", "'__globals__' is not a public name"),
        ("dspy.predict.predict.BaseModel", "defined in 'pydantic.main', outside dspy"),
        ("dspy.predict.predict.random", "it is a module"),
        ("dspy.Predict.forward.x", "'forward' is not a dspy module or class"),
    ],
)
def test_refused_names(session: Caller, target: str, reason: str) -> None:
    error = session.fails("call_dspy", target=target)
    assert error.metadata["error_status"] == "PERMISSION_DENIED"
    assert reason in error.message, error.message
