"""discover_dspy_schema and list_dspy_modules read the installed DSPy."""

from __future__ import annotations

import pytest
from snakepit_dspy.catalog import COMMANDS, METRICS, OPTIMIZERS, PROGRAM_MODULE_TYPES
from snakepit_dspy.testing import Caller


def test_discovery_of_dspy(session: Caller) -> None:
    schema = session("discover_dspy_schema")
    assert {"Predict", "ChainOfThought", "ReAct"} <= set(schema["modules"])
    assert {"LabeledFewShot", "BootstrapFewShot"} <= set(schema["optimizers"])
    assert "ChatAdapter" in schema["adapters"]
    cot = schema["modules"]["ChainOfThought"]
    assert cot["qualname"] == "dspy.predict.chain_of_thought.ChainOfThought"
    assert cot["doc"]
    assert cot["parameters"][0]["name"] == "signature" and cot["parameters"][0]["required"] is True
    bootstrap = {p["name"]: p for p in schema["optimizers"]["BootstrapFewShot"]["parameters"]}
    assert bootstrap["max_bootstrapped_demos"]["default"] == 4


def test_discovery_of_a_submodule(session: Caller) -> None:
    schema = session("discover_dspy_schema", module="dspy.teleprompt")
    assert schema["module"] == "dspy.teleprompt"
    assert "LabeledFewShot" in schema["optimizers"]


def test_signature_fields_with_types(session: Caller) -> None:
    described = session("discover_dspy_schema", signature="context: list[str], question -> answer: int")
    assert described["inputs"] == [
        {"name": "context", "type": "list[str]", "description": ""},
        {"name": "question", "type": "str", "description": ""},
    ]
    assert described["outputs"] == [{"name": "answer", "type": "int", "description": ""}]


def test_module_listing(session: Caller) -> None:
    listing = session("list_dspy_modules")
    assert "Predict" in listing["modules"] and "BootstrapFewShot" in listing["optimizers"]
    assert listing["program_module_types"] == list(PROGRAM_MODULE_TYPES)
    assert listing["program_optimizers"] == list(OPTIMIZERS)
    assert listing["metrics"] == list(METRICS)


def test_catalog_metrics_are_the_ones_implemented() -> None:
    from snakepit_dspy.optimize import metric_named

    for name in METRICS:
        assert callable(metric_named(name, ["answer"]))


def test_command_schemas_are_valid_and_accept_both_input_forms() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schemas = {spec.name: spec.parameters for spec in COMMANDS}
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    predict = schemas["enhanced_predict"]
    jsonschema.validate({"signature": "q -> a", "q": "x", "session_id": "s"}, predict)
    jsonschema.validate({"signature": {"inputs": [{"name": "q"}], "outputs": [{"name": "a"}]}, "inputs": {}}, predict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"model": "dummy", "temprature": 1}, schemas["configure_lm"])
