"""Each kind of bad input: a clear error naming the problem, the session keeps its state, the host keeps serving.

A call in the seed/DSPex form answers it as ``success: false`` with the reason; one in the richer form fails.
"""

from __future__ import annotations

import pytest
from snakepit_dspy.testing import Caller


def still_serving(session: Caller, *, program: str | None = None) -> None:
    assert session("ping")["status"] == "ok"
    assert session("check_dspy")["lm"] is not None
    if program is not None:
        assert session("get_program_info", program_id=program)["program_id"] == program


@pytest.fixture
def ready(session: Caller) -> Caller:
    """A session with a scripted LM and a program, so tests can check both survive."""
    session.dummy({"answer": "ok"}, {"answer": "ok"})
    session("create_program", program_id="kept", signature="question -> answer")
    return session


def test_no_lm_configured(session: Caller) -> None:
    error = session.fails("enhanced_predict", signature="question -> answer", inputs={"question": "q"})
    assert "LM not configured for session 'session-a'" in error.message  # DSPex maps "LM not configured"
    assert "configure_lm" in error.message
    assert error.metadata["error_status"] == "FAILED_PRECONDITION"
    answered = session.refuses("enhanced_predict", signature="question -> answer", question="q")
    assert answered["error"] == error.message and answered["error_type"] == "FAILED_PRECONDITION"
    assert session("ping")["status"] == "ok"


def test_unknown_program(ready: Caller) -> None:
    error = ready.fails("execute_program", program_id="nope", question="q")
    assert "unknown program 'nope'" in error.message and "kept" in error.message
    assert error.metadata["error_status"] == "NOT_FOUND"
    still_serving(ready, program="kept")


def test_unknown_module_in_discovery(ready: Caller) -> None:
    error = ready.fails("discover_dspy_schema", module="dspy.nosuchthing")
    assert "'dspy.nosuchthing' is not a dspy submodule" in error.message
    still_serving(ready, program="kept")


def test_unknown_module_type(ready: Caller) -> None:
    error = ready.fails("create_program", program_id="p2", signature="q -> a", module_type="Telepathy")
    assert "parameter 'module_type': 'Telepathy' is not one of ['Predict', 'ChainOfThought'," in error.message
    still_serving(ready, program="kept")


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        ("question answer", "must contain exactly one '->'"),
        ("question -> ", "needs at least one input and one output field"),
        ("a: nosuchtype -> b", "Unknown name: nosuchtype"),
        (42, "parameter 'signature': 42 is not a string or an object"),
        ({"inputs": [{"name": "1bad"}], "outputs": [{"name": "b"}]}, "public identifier"),
    ],
)
def test_signature_that_does_not_parse(ready: Caller, signature: object, expected: str) -> None:
    error = ready.fails("enhanced_predict", signature=signature, inputs={"question": "q"})
    assert expected in error.message
    assert error.metadata["error_status"] == "INVALID_ARGUMENT"
    if isinstance(signature, str):  # a signature of the wrong type is refused by the schema, in both forms
        assert expected in ready.refuses("enhanced_predict", signature=signature, question="q")["error"]
    still_serving(ready, program="kept")


def test_inputs_missing_a_field(ready: Caller) -> None:
    error = ready.fails("enhanced_predict", signature="context, question -> answer", inputs={"question": "q"})
    assert error.message == "missing input(s) context: signature 'context, question -> answer' takes context, question"
    answered = ready.refuses("enhanced_predict", signature="context, question -> answer", question="q", domain="x")
    assert answered["error"] == error.message, "a name the signature lacks is ignored in the seed form, not missed"
    error = ready.fails("execute_program", program_id="kept", inputs={"questoin": "q"})
    assert "missing input(s) question; unknown input(s) 'questoin'" in error.message
    still_serving(ready, program="kept")
    assert ready("check_dspy")["lm"]["answers_remaining"] == 2, "a refused call spends no answer"


def test_dummy_lm_out_of_answers(ready: Caller) -> None:
    ready("enhanced_predict", signature="question -> answer", question="1")
    ready("execute_program", program_id="kept", question="2")
    error = ready.fails("execute_program", program_id="kept", question="3")
    assert error.message == (
        "the dummy LM has used all 2 scripted answer(s); call configure_lm again with more answers"
    )
    assert error.metadata["error_status"] == "FAILED_PRECONDITION"
    still_serving(ready, program="kept")
    ready.dummy({"answer": "again"})
    assert ready("execute_program", program_id="kept", question="4")["outputs"] == {"answer": "again"}


def test_answer_missing_an_output_field(ready: Caller) -> None:
    error = ready.fails("enhanced_chain_of_thought", signature="question -> answer", inputs={"question": "q"})
    assert "expected output fields [reasoning, answer], found [answer]" in error.message
    assert ready("check_dspy")["lm"]["answers_remaining"] == 1, "no retry spent a second scripted answer"
    still_serving(ready, program="kept")


def test_name_outside_dspy_in_call_dspy(ready: Caller) -> None:
    for target in ("os.system", "dspy.load", "dspy.configure", "dspy._private", "dspy.LM", "dspy.PythonInterpreter"):
        error = ready.fails("call_dspy", target=target, args=["x"])
        assert error.metadata["error_status"] == "PERMISSION_DENIED", target
        assert "call_dspy:" in error.message and "is refused" in error.message
    still_serving(ready, program="kept")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"model": "dummy"}, "model 'dummy' needs 'answers'"),
        ({"model": "dummy", "answers": ["Paris"]}, "parameter 'answers[0]': 'Paris' is not of type 'object'"),
        ({"model": "dummy", "answers": [{}]}, "parameter 'answers[0]': {} should be non-empty"),
        (
            {"model": "dummy", "answers": [{"answer": "x"}], "temperature": 9},
            "parameter 'temperature': 9 is greater than the maximum of 2",
        ),
        ({"model": "dummy", "answers": [{"answer": "x"}], "api_key": "k"}, "model 'dummy' is offline"),
        ({"model": "openai/gpt-4o-mini", "api_key_env": "SNAKEPIT_DSPY_TEST_UNSET_KEY"}, "is not set or empty"),
        (
            {"model": "dummy", "answers": [{"answer": "x"}], "temprature": 0.1},
            "unknown parameter 'temprature' (accepted: ",
        ),
        (
            {"model": "x/y", "api_key": "k", "api_key_env": "X_KEY"},
            "'api_key' and 'api_key_env' cannot be given together",
        ),
    ],
)
def test_bad_configure_lm_keeps_the_previous_lm(ready: Caller, params: dict[str, object], expected: str) -> None:
    error = ready.fails("configure_lm", **params)
    assert expected in error.message
    assert ready("check_dspy")["lm"]["model"] == "dummy"
    still_serving(ready, program="kept")
