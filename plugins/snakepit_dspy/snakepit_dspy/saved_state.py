"""The one shape a saved program may have, checked at every level before DSPy sees any of it.

DSPy's ``Predict.load_state`` sets every key it does not know as an
attribute of the predictor, and its ``forward`` reads some of them:
``{"config": {"api_base": "http://listener"}}`` would send the next call,
with the worker's API key, to that address. So a saved program (what
``save_program`` writes: :meth:`snakepit_dspy.programs.Program.saved`) is
held to a strict JSON schema: at every level only the keys DSPy's
``dump_state`` writes, with their JSON types, and no LM of its own (a
program uses the session's). The state's shape follows the module type: a
``Predict`` is one predictor state, a ``ChainOfThought`` holds one under
``predict``.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from snakepit_dspy.catalog import MAX_TRAINSET, PROGRAM_MODULE_TYPES
from snakepit_host import InvalidArgument

SAVED_FORMAT = "snakepit-dspy/program@1"
_LIMIT = 5
_EXAMPLES: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_TRAINSET,
    "items": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"}},
}
"""Demos (and DSPy's traces and train lists): objects of field values, keyed by field names."""
_NUMBER = {"type": "number"}
PREDICTOR_STATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["traces", "train", "demos", "signature", "lm"],
    "properties": {
        "traces": _EXAMPLES,
        "train": _EXAMPLES,
        "demos": _EXAMPLES,
        "signature": {
            "type": "object",
            "additionalProperties": False,
            "required": ["instructions", "fields"],
            "properties": {
                "instructions": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["prefix", "description"],
                        "properties": {"prefix": {"type": "string"}, "description": {"type": "string"}},
                    },
                },
            },
        },
        "lm": {"type": "null"},
        "fields": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "threshold": _NUMBER,
                    "cuts": {"type": "array", "items": _NUMBER},
                    "weights": {"type": "object", "additionalProperties": _NUMBER},
                    "criteria": {},
                },
            },
        },
    },
}
"""What ``Predict.dump_state(json_mode=True)`` writes (``fields``: DSPy's decision settings, when there are any)."""
MODULE_STATES: dict[str, dict[str, Any]] = {
    "Predict": PREDICTOR_STATE,
    "ChainOfThought": {
        "type": "object",
        "additionalProperties": False,
        "required": ["predict"],
        "properties": {"predict": PREDICTOR_STATE},
    },
}

SAVED_PROGRAM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "signature", "module_type", "state"],
    "properties": {
        "format": {"const": SAVED_FORMAT},
        "program_id": {"type": "string"},
        "signature": {"type": ["string", "object"]},
        "module_type": {"enum": list(PROGRAM_MODULE_TYPES)},
        "state": {"type": "object"},
        "optimized_with": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "optimizer": {"type": "string"},
                "metric": {"type": ["string", "null"]},
                "metric_fields": {"type": ["array", "null"], "items": {"type": "string"}},
                "trainset_size": {"type": "integer"},
                "demos": {"type": "integer"},
                "seconds": _NUMBER,
                "at": _NUMBER,
            },
        },
        "dspy_version": {"type": "string"},
    },
    "allOf": [
        {
            "if": {"properties": {"module_type": {"const": name}}, "required": ["module_type"]},
            "then": {"properties": {"state": shape}},
        }
        for name, shape in MODULE_STATES.items()
    ],
}
_VALIDATOR = Draft202012Validator(SAVED_PROGRAM)


def check_saved(saved: object) -> dict[str, Any]:
    """``saved`` if it is a saved program in every detail; InvalidArgument naming each place that is not."""
    if not isinstance(saved, dict) or saved.get("format") != SAVED_FORMAT:
        raise InvalidArgument(
            f"not a saved program: expected an object with format {SAVED_FORMAT!r} (from save_program)"
        )
    errors = sorted(_VALIDATOR.iter_errors(saved), key=lambda e: [str(part) for part in e.absolute_path])
    problems = list(dict.fromkeys(_describe(error) for error in errors))
    if problems:
        more = f"; and {len(problems) - _LIMIT} more" if len(problems) > _LIMIT else ""
        raise InvalidArgument(f"saved program refused: {'; '.join(problems[:_LIMIT])}{more}")
    return saved


def _describe(error: Any) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    where = path.lstrip(".") or "the saved program"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return (
            f"{where} has unknown keys {', '.join(repr(str(key)[:40]) for key in unknown[:_LIMIT])} "
            f"(it holds only {', '.join(allowed)})"
        )
    if error.absolute_path and error.absolute_path[-1] == "lm" and error.validator == "type":
        return f"{where}: the program carries an LM of its own; programs use the session's LM (configure_lm)"
    return f"{where}: {error.message[:200]}"
