"""Every DSPy command: its handler reference, description and JSON schema.

Pure data, so that ``snakepit-host plugins`` and ``describe`` can list the
commands without importing ``dspy``. The handlers live in modules that do
import it, named here as lazy ``"module:function"`` references.

The host enforces each schema before the handler runs, so each says
exactly what its handler accepts, ranges and choices included; the
handlers keep only the rules that need the session or DSPy (an input the
signature lacks, an LM setting for the dummy model, a program that exists).

Several commands serve two forms under one name: the seed's (and DSPex's,
which sends it), documented first, and this plugin's richer one. Each
schema accepts both; the parameters that only one form has tell them apart
(``module_path`` or ``target``, ``name`` or ``program_id``...), and the
handler answers each form the way its callers read it (see
:mod:`snakepit_dspy.replies`). Where DSPex must read a refusal as
``success: false`` (an unknown ``model_type`` or ``program_type``), the
schema leaves the value open and the handler judges it.
"""

from __future__ import annotations

from typing import Any


class CommandSpec:
    """One command of the catalog: ``handler`` is its ``"module:function"``, imported on its first call.

    A plain class with slots: every worker start defines it, and defining a
    NamedTuple costs ~0.3 ms.
    """

    __slots__ = ("description", "handler", "name", "parameters", "streaming")

    def __init__(
        self, name: str, handler: str, description: str, parameters: dict[str, Any], streaming: bool = False
    ) -> None:
        self.name = name
        self.handler = handler
        self.description = description
        self.parameters = parameters
        self.streaming = streaming


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

CALL_DSPY_NAMES: dict[str, str] = {
    # modules: constructed (function_name "__init__"), stored in the session, then called as stored.<id>
    "dspy.Predict": "module",
    "dspy.ChainOfThought": "module",
    "dspy.MultiChainComparison": "module",
    "dspy.ReAct": "module",
    # data
    "dspy.Example": "data",
    "dspy.Prediction": "data",
    # signatures
    "dspy.Signature": "signature",
    "dspy.make_signature": "signature",
    "dspy.ensure_signature": "signature",
    "dspy.infer_prefix": "signature",
    # optimizers: constructed and stored (compiling a program is optimize_program's job)
    "dspy.LabeledFewShot": "optimizer",
    "dspy.BootstrapFewShot": "optimizer",
    "dspy.BootstrapFewShotWithRandomSearch": "optimizer",
    "dspy.COPRO": "optimizer",
    "dspy.MIPROv2": "optimizer",
    "dspy.SIMBA": "optimizer",
}
"""Every name ``call_dspy`` reaches by default (exact names; the operator adds more with ``--dspy-call-allow``),
and its kind, which says what a stored instance of it may be asked (:data:`INSTANCE_METHODS`)."""
INSTANCE_METHODS: dict[str, tuple[str, ...]] = {
    "module": ("__call__", "forward", "dump_state"),
    "data": ("toDict", "keys", "values", "items", "get", "inputs", "labels"),
    "signature": (),
    "optimizer": (),
    "other": (),
}
"""The methods ``call_dspy`` calls on a stored instance, by kind (nothing that loads, saves or sets an LM)."""
WITHHELD_NAMES: tuple[tuple[str, str], ...] = (
    ("dspy.ProgramOfThought", "it runs Python code the LM writes"),
    ("dspy.CodeAct", "it runs Python code the LM writes"),
    ("dspy.RLM", "it runs Python code the LM writes"),
    ("dspy.PythonInterpreter", "it runs code"),
    ("dspy.LocalInterpreter", "it runs code"),
    ("dspy.datasets", "dataset loaders download over the network and write a local cache"),
    ("dspy.LM", "LMs are configure_lm's, which keeps API keys to their providers"),
    ("dspy.Embedder", "it is an LM client; LMs are configure_lm's"),
    ("dspy.configure", "it changes process-wide settings, which every session would see"),
    ("dspy.settings", "it changes process-wide settings, which every session would see"),
    ("dspy.context", "it changes process-wide settings, which every session would see"),
    ("dspy.load", "it loads files, unpickling them"),
)
"""Why some names DSPy users (and DSPex) reach for are not on the default list (each also covers the names under
it); the operator may still add them."""

MODEL_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gemini": ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    "openai": ("openai", ("OPENAI_API_KEY",)),
    "anthropic": ("anthropic", ("ANTHROPIC_API_KEY",)),
    "ollama": ("ollama", ()),
    "groq": ("groq", ("GROQ_API_KEY",)),
    "mistral": ("mistral", ("MISTRAL_API_KEY",)),
    "deepseek": ("deepseek", ("DEEPSEEK_API_KEY",)),
    "openrouter": ("openrouter", ("OPENROUTER_API_KEY",)),
    "xai": ("xai", ("XAI_API_KEY",)),
}
"""configure_lm's ``model_type`` (DSPex's name for the provider): the LiteLLM prefix, and the environment variables
that hold its key, in the order they are read when the call gives none (ollama runs locally and needs none)."""
DSPEX_PROGRAM_TYPES = {"predict": "Predict", "chain_of_thought": "ChainOfThought"}
"""create_program's ``program_type`` values served (DSPex also names react and program_of_thought; see the README)."""

_COMMANDS_MODULE = "snakepit_dspy.commands"
_REPORTS_MODULE = "snakepit_dspy.reports"
_INSTANCES_MODULE = "snakepit_dspy.instances"

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


def _either(*pairs: tuple[str, str]) -> dict[str, Any]:
    """At most one of each pair of names."""
    rules = [{"not": {"required": list(pair)}} for pair in pairs]
    return rules[0] if len(rules) == 1 else {"allOf": rules}


def _forms(*required: tuple[str, ...]) -> dict[str, Any]:
    """Exactly one form, each known by the parameters it requires (reported as ``give exactly one of ...``)."""
    return {"oneOf": [{"required": list(names)} for names in required]}


def _command(name: str, description: str, parameters: dict[str, Any], *, module: str = _COMMANDS_MODULE) -> CommandSpec:
    return CommandSpec(name, f"{module}:{name}", description, parameters)


def _stream(name: str, description: str, parameters: dict[str, Any]) -> CommandSpec:
    return CommandSpec(name, f"snakepit_dspy.streams:{name}", description, parameters, streaming=True)


COMMANDS: tuple[CommandSpec, ...] = (
    _command(
        "check_dspy",
        "Whether DSPy can be imported, its version, and the LM this session would use.",
        _schema({}),
        module=_REPORTS_MODULE,
    ),
    _command(
        "configure_lm",
        "Configure the session's LM: DSPex's form is model_type (gemini, openai, anthropic, ollama...) + model + "
        "api_key. model 'dummy' with answers gives a scripted offline LM; API keys come from api_key, api_key_env "
        "or the provider's usual environment variable, and are never echoed or logged. default=true sets the "
        "host-wide default, if the operator allows it (--dspy-callers-set-default).",
        _schema(
            {
                "model_type": {
                    **_TEXT,
                    "description": f"DSPex's provider name, mapped to LiteLLM's prefix: {', '.join(MODEL_TYPES)}; "
                    "failures are then answered as success: false",
                },
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
                "api_key": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "description": "Secret; never returned or logged (null: from the environment)",
                },
                "api_key_env": {
                    **_TEXT,
                    "description": "Name of an environment variable holding the key "
                    "(upper case, ending in _API_KEY, _KEY or _TOKEN)",
                },
                "api_base": {**_TEXT, "description": "Endpoint; see SNAKEPIT_DSPY_API_BASES"},
                "default": {
                    "type": "boolean",
                    "description": "Set the host-wide default, not this session's LM (if the operator allows it)",
                },
                **{name: _setting(name) for name in LM_SETTINGS},
                "cache": {"type": "boolean"},
                "num_retries": _count(0, 20),
            },
            ("model",),
            **_either(("api_key", "api_key_env"), ("model_type", "provider")),
        ),
    ),
    _command(
        "call_dspy",
        "Construct, call or call a method of an allow-listed DSPy name (see list_dspy_modules). Seed/DSPex form: "
        "module_path 'dspy.Predict' + function_name '__init__' stores an instance and answers its instance_id; "
        "module_path 'stored.<instance_id>' + function_name '__call__' calls it; failures are answered as "
        "success: false. Richer form: target, args, kwargs, call_kwargs, store_as.",
        _schema(
            {
                "module_path": {
                    **_TEXT,
                    "description": "A class ('dspy.Predict', with function_name '__init__'), a module and a function "
                    "('dspy' + 'make_signature'), or 'stored.<instance_id>'",
                },
                "function_name": {**_TEXT, "description": "'__init__', '__call__', a function or a public method"},
                "args": {"type": ["array", "null"]},
                "kwargs": {"type": ["object", "null"]},
                "target": {**_TEXT, "description": "Richer form: an allow-listed name, e.g. 'dspy.Predict'"},
                "call_kwargs": {
                    "type": "object",
                    "description": "Richer form, class targets: call the new instance with these keyword arguments",
                },
                "store_as": _STORE_AS,
            },
            **_forms(("module_path", "function_name"), ("target",)),
            dependentRequired={"call_kwargs": ["target"], "store_as": ["target"]},
        ),
        module="snakepit_dspy.call_dspy",
    ),
    _command(
        "discover_dspy_schema",
        "DSPy's classes and functions. Seed/DSPex form (module_path, or nothing): schema by name, each with type, "
        "docstring, methods and whether call_dspy reaches it. Richer form (module): classes by kind with parameters; "
        "or, given a signature, its input and output fields with types.",
        _schema(
            {
                "module_path": {
                    **_TEXT,
                    "description": "'dspy' (default) or a public submodule like 'dspy.teleprompt'",
                },
                "module": {**_TEXT, "description": "Richer form: 'dspy' or a public submodule like 'dspy.predict'"},
                "signature": _SIGNATURE,
            },
            **_either(("module", "signature"), ("module_path", "module"), ("module_path", "signature")),
        ),
    ),
    _command(
        "list_dspy_modules",
        "Names of DSPy's modules and optimizers, what call_dspy reaches, what programs and optimize_program accept.",
        _schema({}),
    ),
    _command(
        "enhanced_predict",
        "Run dspy.Predict on a signature with the session's LM. Seed/DSPex form: the inputs as further parameters "
        "(others are ignored and listed in ignored_inputs; failures answered as success: false). Richer form: inputs "
        "as 'inputs' (or store_as given), strict. Returns result (the prediction's fields), outputs, type.",
        _schema({"signature": _SIGNATURE, "inputs": _INPUTS, "store_as": _STORE_AS}, ("signature",), seed_inputs=True),
    ),
    _command(
        "enhanced_chain_of_thought",
        "Run dspy.ChainOfThought on a signature with the session's LM; forms as enhanced_predict. "
        "Returns result (reasoning and outputs), outputs, reasoning, type.",
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
        "Create a named DSPy program (Predict or ChainOfThought over a signature) in this session. "
        "DSPex's form: name, program_type (predict, chain_of_thought), signature_name (the signature); it replaces "
        "a program of that name and answers failures as success: false.",
        _schema(
            {
                "name": {**_TEXT, "description": "DSPex's form: the program's id"},
                "program_type": {**_TEXT, "description": f"DSPex's form: {', '.join(DSPEX_PROGRAM_TYPES)}"},
                "signature_name": {**_TEXT, "description": "DSPex's form: the signature, e.g. 'question -> answer'"},
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
            **_forms(("name", "program_type", "signature_name"), ("signature",)),
            **_either(("program_id", "id"), ("name", "program_id"), ("name", "id"), ("program_type", "module_type")),
        ),
    ),
    _command(
        "execute_program",
        "Run a session program on inputs; returns its output fields. DSPex's form: name + inputs (inputs the "
        "signature lacks are ignored and listed; failures answered as success: false).",
        _schema(
            {
                "name": {**_TEXT, "description": "DSPex's form (without program_id): the program's id"},
                "program_id": _PROGRAM_ID,
                "inputs": _INPUTS,
                "store_as": _STORE_AS,
                "program_data": {"description": "Sent by Snakepit 0.4.1's execute_program helper; not needed, ignored"},
            },
            seed_inputs=True,
            anyOf=[{"required": ["name"]}, {"required": ["program_id"]}],
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
    _command(
        "get_stats",
        "DSPex's counters: DSPy's availability and version, the session's programs and stored instances, its LM.",
        _schema({}),
        module=_REPORTS_MODULE,
    ),
    _command(
        "get_settings",
        "The settings DSPy would use for this session: its LM (model) and where it comes from; rm and trace.",
        _schema({}),
        module=_REPORTS_MODULE,
    ),
    _command(
        "list_stored_objects",
        "The instances call_dspy stored in this session (name, type, age), with the session's limits.",
        _schema({}),
        module=_INSTANCES_MODULE,
    ),
    _command(
        "delete_stored_object",
        "Delete an instance call_dspy stored in this session.",
        _schema({"name": {**_TEXT, "description": "The instance_id"}}, ("name",)),
        module=_INSTANCES_MODULE,
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
