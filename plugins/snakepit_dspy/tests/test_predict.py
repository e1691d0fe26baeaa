"""Predict and chain of thought over a real server, with DSPy's dummy LM."""

from __future__ import annotations

from snakepit_dspy.testing import Caller


def test_predict_seed_form(session: Caller) -> None:
    session.dummy({"answer": "Paris"})
    result = session("enhanced_predict", signature="question -> answer", question="Capital of France?")
    assert result["outputs"] == {"answer": "Paris"}
    assert result["lm"]["model"] == "dummy"
    assert "reasoning" not in result


def test_predict_inputs_object_and_typed_signature(session: Caller) -> None:
    session.dummy({"answer": "3"})
    result = session(
        "enhanced_predict",
        signature="context: list[str], question -> answer: int",
        inputs={"context": ["a"], "question": "q"},
    )
    assert result["outputs"] == {"answer": 3}


def test_predict_object_signature_with_instructions(session: Caller) -> None:
    session.dummy({"summary": "short"})
    signature = {
        "inputs": [{"name": "text", "type": "string", "description": "the text to summarise"}],
        "outputs": [{"name": "summary"}],
        "instructions": "Summarise the text.",
    }
    assert session("enhanced_predict", signature=signature, text="long text")["outputs"] == {"summary": "short"}
    described = session("discover_dspy_schema", signature=signature)
    assert described["instructions"] == "Summarise the text."
    assert described["inputs"] == [{"name": "text", "type": "str", "description": "the text to summarise"}]


def test_chain_of_thought_includes_reasoning(session: Caller) -> None:
    session.dummy({"reasoning": "France's capital is Paris.", "answer": "Paris"})
    result = session("enhanced_chain_of_thought", signature="question -> answer", question="Capital of France?")
    assert result["outputs"] == {"answer": "Paris"}
    assert result["reasoning"] == "France's capital is Paris."


def test_answers_are_used_in_order_then_reported_exhausted(session: Caller) -> None:
    configured = session.dummy({"answer": "one"}, {"answer": "two"})
    assert configured["answers_remaining"] == 2
    assert session("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "one"
    assert session("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "two"
    assert session("check_dspy")["lm"]["answers_remaining"] == 0


def test_settings_given_to_configure_lm_reach_the_lm(session: Caller) -> None:
    session.dummy({"answer": "x"}, temperature=0.7, max_tokens=50)
    assert session("enhanced_predict", signature="q -> answer", q="x")["lm"] == {
        "model": "dummy",
        "temperature": 0.7,
        "max_tokens": 50,
    }
