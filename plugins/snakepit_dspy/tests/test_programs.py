"""Programs per session: create, execute, list, inspect, delete, restore from JSON, optimize."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from snakepit_dspy.testing import Caller

TRAINSET = [{"question": "a?", "answer": "A"}, {"question": "b?", "answer": "B"}]


@pytest.fixture
def qa(session: Caller) -> Caller:
    created = session("create_program", program_id="qa", signature="question -> answer")
    assert created["created"] is True and created["module_type"] == "Predict"
    return session


def test_create_execute_list_info_delete(qa: Caller) -> None:
    qa.dummy({"answer": "Paris"}, {"reasoning": "Rome is the capital.", "answer": "Rome"})
    assert qa("execute_program", program_id="qa", question="France?")["outputs"] == {"answer": "Paris"}
    qa("create_program", id="thinker", signature="question -> answer", module_type="chain_of_thought")
    executed = qa("execute_program", program_id="thinker", inputs={"question": "Italy?"})
    assert executed["outputs"] == {"answer": "Rome"} and executed["reasoning"] == "Rome is the capital."

    listing = qa("list_programs")
    assert [(p["program_id"], p["module_type"], p["execution_count"]) for p in listing["programs"]] == [
        ("qa", "Predict", 1),
        ("thinker", "ChainOfThought", 1),
    ]
    info = qa("get_program_info", program_id="qa")
    assert info["signature"] == "question -> answer" and info["last_executed"] is not None
    assert "saved" not in info

    assert qa("delete_program", program_id="qa") == {"success": True, "deleted": True, "program_id": "qa"}
    assert qa.fails("get_program_info", program_id="qa").metadata["error_status"] == "NOT_FOUND"
    assert qa("list_programs")["count"] == 1


def test_generated_id_and_duplicates(qa: Caller) -> None:
    generated = qa("create_program", signature="q -> a")["program_id"]
    assert generated.startswith("program_")
    error = qa.fails("create_program", program_id="qa", signature="q -> a")
    assert error.metadata["error_status"] == "ALREADY_EXISTS" and "replace=true" in error.message
    replaced = qa("create_program", program_id="qa", signature="q -> a", replace=True)
    assert replaced["signature"] == "q -> a"


def test_programs_belong_to_their_session(qa: Caller, open_session: Callable[[str], Caller]) -> None:
    other = open_session("other")
    assert other("list_programs") == {"success": True, "programs": [], "count": 0}
    assert "unknown program 'qa'" in other.fails("execute_program", program_id="qa", question="x").message


def test_restore_from_saved_json_in_another_session(qa: Caller, open_session: Callable[[str], Caller]) -> None:
    qa("optimize_program", program_id="qa", optimizer="LabeledFewShot", trainset=TRAINSET, k=2)
    saved = qa("get_program_info", program_id="qa", include_state=True)["saved"]
    assert saved["format"] == "snakepit-dspy/program@1" and len(saved["state"]["demos"]) == 2

    other = open_session("other")
    restored = other("load_program", state=saved, program_id="qa-copy")
    assert restored["program_id"] == "qa-copy" and restored["demos"] == 2
    assert restored["optimized_with"]["optimizer"] == "LabeledFewShot"
    other.dummy({"answer": "A"})
    assert other("execute_program", program_id="qa-copy", question="a?")["outputs"] == {"answer": "A"}


def test_restore_refuses_what_is_not_a_saved_program(qa: Caller) -> None:
    error = qa.fails("load_program", state={"signature": "q -> a"})
    assert "not a saved program" in error.message
    saved = qa("get_program_info", program_id="qa", include_state=True)["saved"]
    saved["state"]["lm"] = {"model": "openai/gpt-4o", "api_base": "http://elsewhere"}
    error = qa.fails("load_program", state=saved, program_id="with-lm")
    assert "state.lm: the program carries an LM of its own" in error.message
    saved["state"]["lm"] = None
    saved["state"]["demos"] = "nonsense"
    error = qa.fails("load_program", state=saved, program_id="x")
    assert "state.demos: 'nonsense' is not of type 'array'" in error.message
    saved["state"]["demos"] = []
    saved["module_type"] = "ChainOfThought"
    error = qa.fails("load_program", state=saved, program_id="x")
    assert (
        "state has unknown keys 'demos', 'lm', 'signature', 'traces', 'train' (it holds only predict)" in error.message
    )
    assert "state: 'predict' is a required property" in error.message
    assert qa("list_programs")["count"] == 1
    assert qa.fails("load_program").message == (
        "command 'load_program': 1 problem with the parameters: give exactly one of 'variable' or 'state'"
    )


SAVED_STATE_ATTACKS = [
    # Applied to a Predict state without 'demos'. DSPy's load_state sets unknown keys as attributes of the
    # predictor, and forward() reads 'config': its api_base would receive the worker's API key.
    ({"config": {"api_base": "http://127.0.0.1:9/steal"}}, "state has unknown keys 'config'"),
    ({"demos": [{"question": "q", "answer": "a"}], "train": "x"}, "state.train: 'x' is not of type 'array'"),
    (
        {"signature": {"instructions": "i", "fields": [{"prefix": "Q:", "description": "d", "x": 1}]}},
        "unknown keys 'x'",
    ),
    ({"demos": [{"__class__": "x"}]}, "state.demos[0]: '__class__' does not match"),
]


@pytest.mark.parametrize(("change", "expected"), SAVED_STATE_ATTACKS)
def test_saved_state_is_held_to_its_schema_at_every_level(qa: Caller, change: dict[str, object], expected: str) -> None:
    saved = qa("get_program_info", program_id="qa", include_state=True)["saved"]
    without_demos = {key: value for key, value in saved["state"].items() if key != "demos"}
    error = qa.fails("load_program", state={**saved, "state": {**without_demos, **change}}, program_id="bad")
    assert expected in error.message
    assert error.metadata["error_status"] == "INVALID_ARGUMENT"
    assert qa("list_programs")["count"] == 1


def test_chain_of_thought_state_without_demos_cannot_carry_settings(qa: Caller) -> None:
    """A predictor state nested in a module, without 'demos' (the old check looked only where 'demos' was)."""
    qa("create_program", program_id="cot", signature="question -> answer", module_type="ChainOfThought")
    saved = qa("get_program_info", program_id="cot", include_state=True)["saved"]
    predictor = {k: v for k, v in saved["state"]["predict"].items() if k != "demos"}
    hostile = {**saved, "state": {"predict": {**predictor, "config": {"api_base": "http://127.0.0.1:9"}}}}
    error = qa.fails("load_program", state=hostile, program_id="hostile")
    assert "state.predict has unknown keys 'config'" in error.message
    assert "state.predict: 'demos' is a required property" in error.message
    assert qa("load_program", state=saved, program_id="cot-copy")["module_type"] == "ChainOfThought"


def test_labeled_few_shot(qa: Caller) -> None:
    summary = qa("optimize_program", program_id="qa", optimizer="LabeledFewShot", trainset=TRAINSET, k=1)
    assert summary["optimizer"] == "LabeledFewShot" and summary["demos"] == 1 and summary["trainset_size"] == 2
    assert qa("get_program_info", program_id="qa")["demos"] == 1


def test_bootstrap_few_shot_keeps_demos_that_pass_the_metric(qa: Caller) -> None:
    # The teacher answers a? right and b? wrong: only a? becomes a bootstrapped demo.
    qa.dummy({"answer": "A"}, {"answer": "wrong"}, {"answer": "B"})
    summary = qa(
        "optimize_program",
        program_id="qa",
        optimizer="BootstrapFewShot",
        trainset=TRAINSET,
        metric="exact_match",
        max_bootstrapped_demos=2,
        max_labeled_demos=0,
    )
    assert summary["metric"] == "exact_match" and summary["metric_fields"] == ["answer"]
    demos = qa("get_program_info", program_id="qa", include_state=True)["saved"]["state"]["demos"]
    assert [(d["question"], d["answer"], d.get("augmented")) for d in demos] == [("a?", "A", True)]
    assert qa("execute_program", program_id="qa", question="b?")["outputs"] == {"answer": "B"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"optimizer": "MIPROv2"},
            "parameter 'optimizer': 'MIPROv2' is not one of ['LabeledFewShot', 'BootstrapFewShot']",
        ),
        ({"optimizer": "BootstrapFewShot"}, "BootstrapFewShot needs a 'metric'"),
        (
            {"optimizer": "BootstrapFewShot", "metric": "lambda e, p: True"},
            "parameter 'metric': 'lambda e, p: True' is not one of",
        ),
        ({"optimizer": "LabeledFewShot", "metric": "exact_match"}, "LabeledFewShot uses no metric"),
        ({"optimizer": "LabeledFewShot", "trainset": [{"question": "a?"}]}, "trainset[0] lacks answer"),
        ({"optimizer": "LabeledFewShot", "trainset": []}, "parameter 'trainset': [] should be non-empty"),
        ({"optimizer": "LabeledFewShot", "k": 0}, "parameter 'k': 0 is less than the minimum of 1"),
        (
            {"optimizer": "BootstrapFewShot", "metric": "contains", "max_rounds": 11},
            "parameter 'max_rounds': 11 is greater",
        ),
        ({"optimizer": "LabeledFewShot", "metric_field": "nope"}, "metric_field 'nope' is not an output"),
    ],
)
def test_bad_optimizer_input(qa: Caller, params: dict[str, object], expected: str) -> None:
    error = qa.fails("optimize_program", program_id="qa", **{"trainset": TRAINSET, **params})
    assert expected in error.message
    assert qa("get_program_info", program_id="qa")["demos"] == 0
