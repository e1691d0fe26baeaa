"""Session variables: bound LM settings read at call time, module types, store_as, programs saved and restored."""

from __future__ import annotations

from typing import Any

import pytest
from snakepit_dspy.testing import Caller

from snakepit_host.testing import RunningHost


@pytest.fixture
def session(variables_host: RunningHost) -> Caller:
    return Caller(variables_host.client(), "vars-a")


def predict(session: Caller, **params: object) -> dict[str, Any]:
    result: dict[str, Any] = session("enhanced_predict", signature="question -> answer", question="q", **params)
    return result


def test_bound_temperature_changes_between_two_calls(session: Caller) -> None:
    session.dummy({"answer": "first"}, {"answer": "second"}, temperature=0.1)
    session("register_variable", name="temp", type="float", value=0.3)
    bound = session("bind_dspy_variable", setting="temperature", variable="temp")
    assert bound == {"success": True, "setting": "temperature", "variable": "temp", "value": 0.3}
    assert predict(session)["lm"] == {"model": "dummy", "temperature": 0.3, "max_tokens": 1000}
    session("set_variable", name="temp", value=0.9)
    assert predict(session)["lm"] == {"model": "dummy", "temperature": 0.9, "max_tokens": 1000}


def test_unbinding_returns_to_the_configured_setting(session: Caller) -> None:
    session.dummy({"answer": "x"}, {"answer": "y"}, max_tokens=64)
    session("register_variable", name="budget", type="integer", value=256)
    session("bind_dspy_variable", setting="max_tokens", variable="budget")
    assert predict(session)["lm"]["max_tokens"] == 256
    assert session("bind_dspy_variable", setting="max_tokens", variable=None) == {
        "success": True,
        "setting": "max_tokens",
        "unbound": "budget",
    }
    assert predict(session)["lm"]["max_tokens"] == 64


def test_bound_model_is_used(session: Caller) -> None:
    unreachable = {"api_base": "http://127.0.0.1:9", "num_retries": 0}
    session("configure_lm", model="openai/gpt-4o-mini", api_key="sk-test", **unreachable)
    session("register_variable", name="model", type="string", value="openai/gpt-4.1-nano")
    session("bind_dspy_variable", setting="model", variable="model")
    # Offline, the call fails to connect; the error names the model that was called.
    assert (
        "[openai/gpt-4.1-nano] failed to connect"
        in session.fails("enhanced_predict", signature="q -> a", inputs={"q": "x"}).message
    )
    session("set_variable", name="model", value="anthropic/claude-3-5-haiku-latest")
    error = session.fails("enhanced_predict", signature="q -> a", inputs={"q": "x"})
    assert "another provider (the configured API key must not be sent to it) needs configure_lm" in error.message
    session("set_variable", name="model", value="dummy")
    error = session.fails("enhanced_predict", signature="q -> a", inputs={"q": "x"})
    assert "switching to or from the dummy model needs configure_lm" in error.message


def test_bad_bindings(session: Caller) -> None:
    session.dummy({"answer": "x"})
    error = session.fails("bind_dspy_variable", setting="temperature", variable="missing")
    assert error.message == "session variable 'missing' (needed by binding temperature) does not exist"
    session("register_variable", name="hot", type="float", value=5.0)
    error = session.fails("bind_dspy_variable", setting="temperature", variable="hot")
    assert "session variable 'hot': temperature must be between 0 and 2, got 5.0" in error.message
    error = session.fails("bind_dspy_variable", setting="colour", variable="hot")
    assert "parameter 'setting': 'colour' is not one of ['model', 'temperature'," in error.message

    session("register_variable", name="temp", type="float", value=0.5)
    session("bind_dspy_variable", setting="temperature", variable="temp")
    session("delete_variable", name="temp")
    error = session.fails("enhanced_predict", signature="q -> a", inputs={"q": "x"})
    assert "session variable 'temp' (needed by the binding of temperature" in error.message
    assert "unbind with bind_dspy_variable(variable=null)" in error.message
    session("bind_dspy_variable", setting="temperature", variable=None)
    assert session("enhanced_predict", signature="q -> answer", q="x")["outputs"] == {"answer": "x"}


def test_program_module_type_bound_to_a_variable(session: Caller) -> None:
    session.dummy({"answer": "plain"}, {"reasoning": "because", "answer": "thought"})
    session("create_program", program_id="qa", signature="question -> answer")
    session(
        "optimize_program", program_id="qa", optimizer="LabeledFewShot", trainset=[{"question": "a", "answer": "A"}]
    )
    session("register_variable", name="qa_module", type="string", value="Predict")
    bound = session("bind_dspy_variable", setting="module_type", variable="qa_module", program_id="qa")
    assert bound["module_type_variable"] == "qa_module"
    assert session("execute_program", program_id="qa", question="q")["module_type"] == "Predict"
    session("set_variable", name="qa_module", value="ChainOfThought")
    executed = session("execute_program", program_id="qa", question="q")
    assert (executed["module_type"], executed["reasoning"], executed["outputs"]) == (
        "ChainOfThought",
        "because",
        {"answer": "thought"},
    )
    assert session("get_program_info", program_id="qa")["demos"] == 1, "learnt demos survive the switch"
    session("set_variable", name="qa_module", value="Telepathy")
    assert "module type must be one of" in session.fails("execute_program", program_id="qa", question="q").message


def test_store_as_writes_the_outputs_into_a_variable(session: Caller) -> None:
    session.dummy({"answer": "Paris"}, {"reasoning": "r", "answer": "Rome"})
    first = predict(session, store_as="last_prediction")
    assert first["stored"] == {"variable": "last_prediction", "version": 0}
    assert session("get_variable", name="last_prediction")["value"] == {"answer": "Paris"}
    second = session(
        "enhanced_chain_of_thought", signature="question -> answer", question="q", store_as="last_prediction"
    )
    assert second["stored"]["version"] == 1
    assert session("get_variable", name="last_prediction")["value"] == {"answer": "Rome", "reasoning": "r"}


def test_store_as_from_programs_and_call_dspy(session: Caller) -> None:
    session.dummy({"answer": "42"})
    session("create_program", program_id="qa", signature="question -> answer")
    assert session("execute_program", program_id="qa", question="q", store_as="out")["stored"]["version"] == 0
    assert session("get_variable", name="out")["value"] == {"answer": "42"}
    session("call_dspy", target="dspy.Example", kwargs={"x": 1}, store_as="out")
    assert session("get_variable", name="out")["value"] == {"result": {"x": 1}}


def test_program_saved_to_a_variable_and_restored_in_another_session(variables_host: RunningHost) -> None:
    client = variables_host.client()
    first, second = Caller(client, "trainer"), Caller(client, "server")
    first("create_program", program_id="qa", signature="question -> answer", module_type="ChainOfThought")
    first("optimize_program", program_id="qa", optimizer="LabeledFewShot", trainset=[{"question": "a", "answer": "A"}])
    assert first("save_program", program_id="qa", variable="qa_program") == {
        "success": True,
        "program_id": "qa",
        "variable": "qa_program",
        "version": 0,
    }
    saved = first("get_variable", name="qa_program")["value"]

    # Elixir copies the variable into the other session; the program comes back from it.
    second("register_variable", name="qa_program", type="dict", value=saved)
    restored = second("load_program", variable="qa_program")
    assert (restored["program_id"], restored["module_type"], restored["demos"]) == ("qa", "ChainOfThought", 1)
    second.dummy({"reasoning": "r", "answer": "A"})
    assert second("execute_program", program_id="qa", question="a")["outputs"] == {"answer": "A"}
    assert "does not exist" in second.fails("load_program", variable="nothing_here").message
