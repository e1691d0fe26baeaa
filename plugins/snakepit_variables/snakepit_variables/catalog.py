"""What the plugin registers at every worker start, without importing it: the value types and the commands.

:data:`TYPES` names each value type by reference (``"module:Class"``), so
its module loads with the first variable, not at start-up. The JSON schemas
of the variable commands' parameters are shown by ``describe`` and enforced
by the host on every call.

Each says exactly what its handler in :mod:`snakepit_variables.commands`
reads. The rules of a variable's own domain (the name rule, the type's
constraints, versions that must exist) stay with the variables, which
apply them to RPCs and ``ctx.variables`` alike.
"""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "description": "variable name (or id)"}
_METADATA = {"type": "object", "additionalProperties": {"type": "string"}, "description": "string metadata"}
_VALUE = {
    "description": "the value, checked against the variable's type and constraints "
    "(a large tensor or embedding may come as the binary parameter 'value' instead)"
}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


_SCALARS = "snakepit_variables.value_types"
TYPES: dict[str, str] = {
    "float": f"{_SCALARS}:FloatType",
    "integer": f"{_SCALARS}:IntegerType",
    "string": f"{_SCALARS}:StringType",
    "boolean": f"{_SCALARS}:BooleanType",
    "choice": f"{_SCALARS}:ChoiceType",
    "module": f"{_SCALARS}:ModuleType",
    "list": f"{_SCALARS}:ListType",
    "dict": f"{_SCALARS}:DictType",
    "map": f"{_SCALARS}:DictType",  # Snakepit's name for dict
    "json": f"{_SCALARS}:JsonType",
    "embedding": "snakepit_variables.arrays:EmbeddingType",
    "tensor": "snakepit_variables.arrays:TensorType",
}
"""Type name -> the ``ValueType`` class that serves it (the host makes one instance per name on first use)."""

COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "register_variable": (
        "Create a typed, constrained session variable at version 0",
        _object(
            ["name", "type"],
            name=_NAME,
            type={"type": "string", "description": "a registered value type (see describe: types)"},
            value=_VALUE,
            initial_value={"description": "the same as 'value' (Snakepit 0.4's name for it)"},
            constraints={"type": "object", "description": "constraints of the type (checked now)"},
            metadata=_METADATA,
            description={"type": "string"},
        )
        | {"not": {"required": ["value", "initial_value"]}},
    ),
    "get_variable": ("A variable with its value, version and metadata", _object(["name"], name=_NAME)),
    "set_variable": (
        "Set a variable's value; returns the new version (a stale expected_version changes nothing)",
        _object(
            ["name", "value"],
            name=_NAME,
            value=_VALUE,
            expected_version={
                "type": "integer",
                "minimum": 0,
                "description": "write only if the variable is still at this version",
            },
            metadata=_METADATA,
        ),
    ),
    "get_variables": (
        "Several values by name, and the names that do not exist",
        _object(["names"], names={"type": "array", "items": {"type": "string"}}),
    ),
    "set_variables": (
        "Set several variables; atomic (default) means all or nothing",
        _object(
            ["updates"],
            updates={"type": "object", "description": "name -> value (each checked against its variable)"},
            atomic={"type": "boolean", "default": True},
            metadata=_METADATA,
        ),
    ),
    "list_variables": (
        "Variables whose names contain the pattern ('*' matches any text)",
        _object([], pattern={"type": "string", "description": "part of the name; '*' matches any text"}),
    ),
    "delete_variable": ("Delete a variable", _object(["name"], name=_NAME)),
    "variable_history": (
        "Past versions of a variable, oldest first",
        _object(["name"], name=_NAME, limit={"type": "integer", "minimum": 1, "description": "most recent N only"}),
    ),
    "rollback_variable": (
        "Write the value an earlier version had, as a new version",
        _object(
            ["name", "version"],
            name=_NAME,
            version={"type": "integer", "minimum": 0, "description": "an earlier version still in history"},
        ),
    ),
}
