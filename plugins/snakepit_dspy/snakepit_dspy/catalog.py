"""Every DSPy command: its handler reference, description and JSON schema.

Pure data, so that ``snakepit-host plugins`` and ``describe`` can list the
commands without importing ``dspy``. The handlers live in modules that do
import it, named here as lazy ``"module:function"`` references.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class CommandSpec(NamedTuple):
    name: str
    handler: str
    description: str
    parameters: dict[str, Any]
    streaming: bool = False


LM_SETTINGS = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty")
"""Sampling settings an LM takes per call; ``model`` can be bound too (see bind_dspy_variable)."""

BINDABLE_SETTINGS = ("model", *LM_SETTINGS)
PROGRAM_MODULE_TYPES = ("Predict", "ChainOfThought")
OPTIMIZERS = ("LabeledFewShot", "BootstrapFewShot")
METRICS = ("exact_match", "normalized_match", "contains")

_COMMANDS_MODULE = "snakepit_dspy.commands"

_SIGNATURE: dict[str, Any] = {
    "description": (
        "A DSPy signature: a string such as 'question -> answer' or 'context: list[str], question -> answer: str', "
        "or an object {inputs: [{name, type?, description?}], outputs: [...], instructions?}"
    ),
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {
                "inputs": {"type": "array", "items": {"$ref": "#/$defs/field"}},
                "outputs": {"type": "array", "items": {"$ref": "#/$defs/field"}},
                "instructions": {"type": "string"},
            },
            "required": ["inputs", "outputs"],
        },
    ],
}
_FIELD_DEF: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"}},
    "required": ["name"],
}
_INPUTS: dict[str, Any] = {
    "type": "object",
    "description": "Input fields by name; they may also be given as further parameters (seed form)",
}
_STORE_AS: dict[str, Any] = {
    "type": "string",
    "description": "Also store the outputs into this session variable (created if missing)",
}
_PROGRAM_ID: dict[str, Any] = {"type": "string", "description": "The program's id within the session"}
_NUMBER = {"type": "number"}
_SESSION_ID: dict[str, Any] = {
    "type": "string",
    "description": "The session to run in (Snakepit's execute_in_session puts it here); routing only",
}


def _schema(properties: dict[str, Any], required: tuple[str, ...] = (), *, seed_inputs: bool = False) -> dict[str, Any]:
    """An object schema; ``seed_inputs`` commands also take their signature's inputs as further parameters."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**properties, "session_id": _SESSION_ID},
        "additionalProperties": seed_inputs,
    }
    if required:
        schema["required"] = list(required)
    if "signature" in properties:
        schema["$defs"] = {"field": _FIELD_DEF}
    return schema


def _command(name: str, description: str, parameters: dict[str, Any], *, module: str = _COMMANDS_MODULE) -> CommandSpec:
    return CommandSpec(name, f"{module}:{name}", description, parameters)


def _stream(name: str, description: str, parameters: dict[str, Any]) -> CommandSpec:
    return CommandSpec(name, f"snakepit_dspy.streams:{name}", description, parameters, streaming=True)


COMMANDS: tuple[CommandSpec, ...] = (
    _command(
        "check_dspy",
        "Whether DSPy can be imported, its version, and the LM this session would use.",
        _schema({}),
        module="snakepit_dspy.check_dspy",
    ),
    _command(
        "configure_lm",
        "Configure the session's LM (or the host-wide default with default=true). "
        "model 'dummy' with answers gives a scripted offline LM; API keys come from api_key, api_key_env "
        "or the provider's usual environment variable, and are never echoed or logged.",
        _schema(
            {
                "model": {
                    "type": "string",
                    "description": "LiteLLM model string, e.g. 'openai/gpt-4o-mini', or 'dummy'",
                },
                "provider": {"type": "string", "description": "Prefixed to model when model has no 'provider/'"},
                "answers": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "dummy only: output fields of each LM answer, used in order",
                },
                "api_key": {"type": "string", "description": "Secret; never returned or logged"},
                "api_key_env": {"type": "string", "description": "Name of an environment variable holding the key"},
                "api_base": {"type": "string"},
                "default": {"type": "boolean", "description": "Set the host-wide default instead of this session's LM"},
                "temperature": _NUMBER,
                "max_tokens": {"type": "integer", "minimum": 1},
                "top_p": _NUMBER,
                "frequency_penalty": _NUMBER,
                "presence_penalty": _NUMBER,
                "cache": {"type": "boolean"},
                "num_retries": {"type": "integer", "minimum": 0},
            },
            ("model",),
        ),
    ),
    _command(
        "call_dspy",
        "Call a public function, or construct (and optionally call) a public class, of the dspy namespace. "
        "Names outside dspy, private names and process-wide or file/code-executing APIs are refused.",
        _schema(
            {
                "target": {"type": "string", "description": "Dotted name under dspy, e.g. 'dspy.Predict'"},
                "args": {"type": "array"},
                "kwargs": {"type": "object"},
                "call_kwargs": {
                    "type": "object",
                    "description": "When target is a class: call the new instance with these keyword arguments",
                },
                "store_as": _STORE_AS,
            },
            ("target",),
        ),
    ),
    _command(
        "discover_dspy_schema",
        "DSPy's modules, optimizers, adapters and other classes with constructor parameters and docstrings; "
        "or, given a signature, its input and output fields with types.",
        _schema(
            {
                "module": {
                    "type": "string",
                    "description": "'dspy' (default) or a public submodule like 'dspy.predict'",
                },
                "signature": _SIGNATURE,
            }
        ),
    ),
    _command(
        "list_dspy_modules",
        "Names of DSPy's modules and optimizers, and what programs and optimize_program accept.",
        _schema({}),
    ),
    _command(
        "enhanced_predict",
        "Run dspy.Predict on a signature with the session's LM; returns the output fields.",
        _schema({"signature": _SIGNATURE, "inputs": _INPUTS, "store_as": _STORE_AS}, ("signature",), seed_inputs=True),
    ),
    _command(
        "enhanced_chain_of_thought",
        "Run dspy.ChainOfThought on a signature with the session's LM; returns the outputs and the reasoning.",
        _schema({"signature": _SIGNATURE, "inputs": _INPUTS, "store_as": _STORE_AS}, ("signature",), seed_inputs=True),
    ),
    _command(
        "react",
        "Run a dspy.ReAct agent whose tools are the session's Python and Elixir tools; "
        "returns the outputs and the trajectory (tool failures appear there as observations).",
        _schema(
            {
                "signature": _SIGNATURE,
                "inputs": _INPUTS,
                "tools": {"type": "array", "items": {"type": "string"}, "description": "Only these tools (by name)"},
                "max_iters": {"type": "integer", "minimum": 1, "maximum": 50},
                "store_as": _STORE_AS,
            },
            seed_inputs=True,
        ),
    ),
    _command(
        "bind_dspy_variable",
        "Bind an LM setting (model, temperature, max_tokens, top_p, frequency_penalty, presence_penalty), "
        "or a program's module_type, to a session variable read at every call; variable null unbinds.",
        _schema(
            {
                "setting": {"type": "string", "enum": [*BINDABLE_SETTINGS, "module_type"]},
                "variable": {"type": ["string", "null"]},
                "program_id": _PROGRAM_ID,
            },
            ("setting", "variable"),
        ),
    ),
    _command(
        "create_program",
        "Create a named DSPy program (Predict or ChainOfThought over a signature) in this session.",
        _schema(
            {
                "program_id": _PROGRAM_ID,
                "id": {"type": "string", "description": "Alias of program_id (Snakepit 0.4.1)"},
                "signature": _SIGNATURE,
                "module_type": {"type": "string", "enum": list(PROGRAM_MODULE_TYPES)},
                "replace": {"type": "boolean"},
            },
            ("signature",),
        ),
    ),
    _command(
        "execute_program",
        "Run a session program on inputs; returns its output fields.",
        _schema(
            {"program_id": _PROGRAM_ID, "inputs": _INPUTS, "store_as": _STORE_AS}, ("program_id",), seed_inputs=True
        ),
    ),
    _command("list_programs", "The session's programs with their signatures and counters.", _schema({})),
    _command(
        "get_program_info",
        "One program's signature, module type, counters and optimisation; include_state adds its JSON state.",
        _schema({"program_id": _PROGRAM_ID, "include_state": {"type": "boolean"}}, ("program_id",)),
    ),
    _command("delete_program", "Delete a session program.", _schema({"program_id": _PROGRAM_ID}, ("program_id",))),
    _command(
        "save_program",
        "Save a program (signature, module type and JSON state, never pickle) into a session variable.",
        _schema({"program_id": _PROGRAM_ID, "variable": {"type": "string"}}, ("program_id", "variable")),
    ),
    _command(
        "load_program",
        "Restore a program saved by save_program, from a session variable or from the saved JSON itself.",
        _schema(
            {
                "variable": {"type": "string"},
                "state": {"type": "object", "description": "The saved program JSON (e.g. read from another session)"},
                "program_id": {"type": "string", "description": "Restore under this id instead of the saved one"},
                "replace": {"type": "boolean"},
            }
        ),
    ),
    _command(
        "optimize_program",
        "Compile a program with LabeledFewShot or BootstrapFewShot on a trainset, scored by a named metric.",
        _schema(
            {
                "program_id": _PROGRAM_ID,
                "optimizer": {"type": "string", "enum": list(OPTIMIZERS)},
                "trainset": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "Examples holding the program's input and output fields",
                },
                "metric": {"type": "string", "enum": list(METRICS)},
                "metric_field": {"type": "string", "description": "Output field the metric compares (default: all)"},
                "k": {"type": "integer", "minimum": 1, "description": "LabeledFewShot: demos to keep"},
                "max_bootstrapped_demos": {"type": "integer", "minimum": 0},
                "max_labeled_demos": {"type": "integer", "minimum": 0},
                "max_rounds": {"type": "integer", "minimum": 1},
            },
            ("program_id", "optimizer", "trainset"),
        ),
    ),
    _stream(
        "stream_predict_batch",
        "Run dspy.Predict over a list of inputs, one chunk per item, then a 'complete' chunk.",
        _schema(
            {"signature": _SIGNATURE, "items": {"type": "array", "items": {"type": "object"}}},
            ("signature", "items"),
        ),
    ),
    _stream(
        "stream_chain_of_thought",
        "Run dspy.ChainOfThought and stream 'thinking', one 'reasoning_step' per step, then 'final_answer'.",
        _schema({"signature": _SIGNATURE, "inputs": _INPUTS}, seed_inputs=True),
    ),
)
