"""Every DSPy command: its handler reference, description and JSON schema.

Pure data, so that ``snakepit-host plugins`` and ``describe`` can list the
commands without importing ``dspy``. The handlers live in modules that do
import it, named here as lazy ``"module:function"`` references.

The host enforces each schema before the handler runs, so each says
exactly what its handler accepts, ranges and choices included; the
handlers keep only the rules that need the session or DSPy (an input the
signature lacks, an LM setting for the dummy model, a program that exists).
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
LM_SETTING_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "max_tokens": (1, 1_000_000),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
"""What configure_lm accepts, and what a session variable bound to a setting must hold."""

BINDABLE_SETTINGS = ("model", *LM_SETTINGS)
PROGRAM_MODULE_TYPES = ("Predict", "ChainOfThought")
PROGRAM_MODULE_ALIASES = {
    "predict": "Predict",
    "chain_of_thought": "ChainOfThought",
    "chainofthought": "ChainOfThought",
    "cot": "ChainOfThought",
    **{f"dspy.{name}": name for name in PROGRAM_MODULE_TYPES},
}
"""Other names a program's module type may be given by (a 'module' variable holds 'dspy.ChainOfThought')."""
OPTIMIZERS = ("LabeledFewShot", "BootstrapFewShot")
METRICS = ("exact_match", "normalized_match", "contains")
MAX_SIGNATURE_LENGTH = 4_000
MAX_TRAINSET = 10_000
MAX_BATCH = 10_000
MAX_ANSWERS = 10_000

_COMMANDS_MODULE = "snakepit_dspy.commands"

_SIGNATURE: dict[str, Any] = {
    "description": (
        "A DSPy signature: a string such as 'question -> answer' or 'context: list[str], question -> answer: str', "
        "or an object {inputs: [{name, type?, description?}], outputs: [...], instructions?}"
    ),
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_SIGNATURE_LENGTH},
        {
            "type": "object",
            "properties": {
                "inputs": {"type": "array", "items": {"$ref": "#/$defs/field"}, "minItems": 1},
                "outputs": {"type": "array", "items": {"$ref": "#/$defs/field"}, "minItems": 1},
                "instructions": {"type": "string"},
            },
            "required": ["inputs", "outputs"],
            "additionalProperties": False,
        },
    ],
}
_FIELD_DEF: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "a public Python identifier"},
        "type": {"type": "string", "description": "a type such as 'str' or 'list[str]' (JSON type names too)"},
        "description": {"type": "string"},
    },
    "required": ["name"],
}
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_INPUTS: dict[str, Any] = {
    "type": "object",
    "description": "Input fields by name; or give them as further parameters (seed form), not both",
}
_STORE_AS: dict[str, Any] = {
    **_TEXT,
    "description": "Also store the outputs into this session variable (created if missing)",
}
_PROGRAM_ID: dict[str, Any] = {**_TEXT, "description": "The program's id within the session"}
_VARIABLE: dict[str, Any] = {**_TEXT, "description": "A session variable (snakepit-variables)"}


def _setting(name: str) -> dict[str, Any]:
    low, high = LM_SETTING_RANGES[name]
    return {"type": "integer" if name == "max_tokens" else "number", "minimum": low, "maximum": high}


def _count(low: int, high: int, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    return {**schema, "description": description} if description else schema


def _schema(
    properties: dict[str, Any], required: tuple[str, ...] = (), *, seed_inputs: bool = False, **rules: Any
) -> dict[str, Any]:
    """An object schema; ``seed_inputs`` commands also take their signature's inputs as further parameters.

    ``rules`` are further keywords of the whole object, such as ``oneOf``
    (exactly one of two parameters) or ``not`` (two that exclude each other).
    """
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": seed_inputs}
    if required:
        schema["required"] = list(required)
    schema.update(rules)
    if "signature" in properties:
        schema["$defs"] = {"field": _FIELD_DEF}
    return schema


def _either(*names: str) -> dict[str, Any]:
    """At most one of ``names``."""
    return {"not": {"required": list(names)}}


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
                    "pattern": "\\S",
                    "description": "LiteLLM model string, e.g. 'openai/gpt-4o-mini', or 'dummy'",
                },
                "provider": {**_TEXT, "description": "Prefixed to model when model has no 'provider/'"},
                "answers": {
                    "type": "array",
                    "items": {"type": "object", "minProperties": 1, "propertyNames": {"minLength": 1}},
                    "minItems": 1,
                    "maxItems": MAX_ANSWERS,
                    "description": "dummy only: output fields of each LM answer, used in order",
                },
                "api_key": {**_TEXT, "description": "Secret; never returned or logged"},
                "api_key_env": {
                    **_TEXT,
                    "description": "Name of an environment variable holding the key "
                    "(upper case, ending in _API_KEY, _KEY or _TOKEN)",
                },
                "api_base": {**_TEXT, "description": "Endpoint; see SNAKEPIT_DSPY_API_BASES"},
                "default": {"type": "boolean", "description": "Set the host-wide default instead of this session's LM"},
                **{name: _setting(name) for name in LM_SETTINGS},
                "cache": {"type": "boolean"},
                "num_retries": _count(0, 20),
            },
            ("model",),
            **_either("api_key", "api_key_env"),
        ),
    ),
    _command(
        "call_dspy",
        "Call a public function, or construct (and optionally call) a public class, of the dspy namespace. "
        "Names outside dspy, private names and process-wide or file/code-executing APIs are refused.",
        _schema(
            {
                "target": {**_TEXT, "description": "Dotted name under dspy, e.g. 'dspy.Predict'"},
                "args": {"type": "array"},
                "kwargs": {"type": "object"},
                "call_kwargs": {
                    "type": "object",
                    "description": "Only for a class target: call the new instance with these keyword arguments",
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
                "module": {**_TEXT, "description": "'dspy' (default) or a public submodule like 'dspy.predict'"},
                "signature": _SIGNATURE,
            },
            **_either("module", "signature"),
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
                "max_iters": _count(1, 50, "Most reasoning steps (default 5)"),
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
                "variable": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "description": "The session variable to read at every call; null unbinds",
                },
                "program_id": {**_PROGRAM_ID, "description": "The program whose module_type is bound (only then)"},
            },
            ("setting", "variable"),
        ),
    ),
    _command(
        "create_program",
        "Create a named DSPy program (Predict or ChainOfThought over a signature) in this session.",
        _schema(
            {
                "program_id": {**_PROGRAM_ID, "description": "The new program's id (default: a fresh one)"},
                "id": {**_TEXT, "description": "Alias of program_id (Snakepit 0.4.1)"},
                "signature": _SIGNATURE,
                "module_type": {
                    "type": "string",
                    "enum": [*PROGRAM_MODULE_TYPES, *PROGRAM_MODULE_ALIASES],
                    "default": "Predict",
                },
                "replace": {"type": "boolean", "description": "Replace a program of that id"},
            },
            ("signature",),
            **_either("program_id", "id"),
        ),
    ),
    _command(
        "execute_program",
        "Run a session program on inputs; returns its output fields.",
        _schema(
            {
                "program_id": _PROGRAM_ID,
                "inputs": _INPUTS,
                "store_as": _STORE_AS,
                "program_data": {"description": "Sent by Snakepit 0.4.1's execute_program helper; not needed, ignored"},
            },
            ("program_id",),
            seed_inputs=True,
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
        _schema({"program_id": _PROGRAM_ID, "variable": _VARIABLE}, ("program_id", "variable")),
    ),
    _command(
        "load_program",
        "Restore a program saved by save_program, from a session variable or from the saved JSON itself.",
        _schema(
            {
                "variable": {**_VARIABLE, "description": "A session variable written by save_program"},
                "state": {"type": "object", "description": "The saved program JSON (e.g. read from another session)"},
                "program_id": {**_TEXT, "description": "Restore under this id instead of the saved one"},
                "replace": {"type": "boolean"},
            },
            oneOf=[{"required": ["variable"]}, {"required": ["state"]}],
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
                    "minItems": 1,
                    "maxItems": MAX_TRAINSET,
                    "description": "Examples holding the program's input and output fields",
                },
                "metric": {
                    "type": "string",
                    "enum": list(METRICS),
                    "description": "BootstrapFewShot only (and needed there)",
                },
                "metric_field": {**_TEXT, "description": "Output field the metric compares (default: all)"},
                "k": _count(1, MAX_TRAINSET, "LabeledFewShot: demos to keep (default 16)"),
                "max_bootstrapped_demos": _count(0, 100, "BootstrapFewShot (default 4)"),
                "max_labeled_demos": _count(0, MAX_TRAINSET, "BootstrapFewShot (default 16)"),
                "max_rounds": _count(1, 10, "BootstrapFewShot (default 1)"),
            },
            ("program_id", "optimizer", "trainset"),
        ),
    ),
    _stream(
        "stream_predict_batch",
        "Run dspy.Predict over a list of inputs, one chunk per item, then a 'complete' chunk.",
        _schema(
            {
                "signature": _SIGNATURE,
                "items": {
                    "type": "array",
                    "maxItems": MAX_BATCH,
                    "description": "Objects of inputs; an item that is not gets an error chunk and the batch goes on",
                },
            },
            ("signature", "items"),
        ),
    ),
    _stream(
        "stream_chain_of_thought",
        "Run dspy.ChainOfThought and stream 'thinking', one 'reasoning_step' per step, then 'final_answer'.",
        _schema({"signature": _SIGNATURE, "inputs": _INPUTS}, seed_inputs=True),
    ),
)
