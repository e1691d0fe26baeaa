"""Signatures from the wire: parsing with clear errors, describing, and checking inputs.

A signature arrives as DSPy's string form (``"question -> answer"``,
``"context: list[str], question -> answer: str"``) or as an object
``{inputs: [{name, type?, description?}], outputs: [...], instructions?}``.
String forms are parsed once and cached (parsing costs about 0.5 ms, more
than the rest of a call's overhead).

DSPy resolves a type name it does not know by importing a module of that
name, follows any attribute (``x: os.system -> y`` imports ``os``), and
hands quoted types to pydantic, which evaluates them as Python. So before
DSPy sees a string, its annotations are checked: only builtin, ``typing``
and ``dspy`` names, no private attributes, and text only inside ``Literal``.
"""

from __future__ import annotations

import ast
import functools
import types
import typing
from typing import Any

from snakepit_dspy.catalog import MAX_SIGNATURE_LENGTH
from snakepit_dspy.dspy_import import dspy
from snakepit_host import InvalidArgument

_JSON_TYPE_NAMES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "map": "dict",
}
"""Type names of JSON schema / Snakepit variables, accepted in object signatures for their Python names."""
_BUILTIN_TYPES = (int, str, float, bool, list, tuple, dict, set, frozenset, complex, bytes, bytearray)
_TYPE_ROOTS = frozenset(
    {name for name, obj in vars(typing).items() if not name.startswith("_") and not isinstance(obj, types.ModuleType)}
    | {t.__name__ for t in _BUILTIN_TYPES}
    | {"NoneType", "typing", "dspy"}
)
"""Names a signature's annotations may start from: DSPy resolves each without importing anything new
(typing's names and these builtins directly; ``typing`` and ``dspy`` are already imported)."""
_EXAMPLE = "write it like 'question -> answer' or 'context: list[str], question -> answer: str'"


def parse_signature(spec: object) -> type[dspy.Signature]:
    """The DSPy signature class for a string or object spec."""
    if isinstance(spec, str):
        return _parse_string(spec.strip())
    if isinstance(spec, dict):
        return _parse_object(spec)
    raise InvalidArgument(f"signature must be a string or an object, got {type(spec).__name__}; {_EXAMPLE}")


@functools.lru_cache(maxsize=512)
def _parse_string(text: str) -> type[dspy.Signature]:
    if len(text) > MAX_SIGNATURE_LENGTH:
        raise InvalidArgument(f"signature is longer than {MAX_SIGNATURE_LENGTH} characters")
    try:
        check_type_names(text)
        signature: type[dspy.Signature] = dspy.Signature(text)
    except Exception as exc:  # DSPy raises ValueError, SyntaxError, NameError... for bad text
        raise InvalidArgument(f"signature {text[:200]!r} does not parse ({exc}); {_EXAMPLE}") from None
    if not signature.input_fields or not signature.output_fields:
        raise InvalidArgument(f"signature {text[:200]!r} needs at least one input and one output field; {_EXAMPLE}")
    return signature


def check_type_names(text: str) -> None:
    """ValueError unless every type in signature ``text`` is one DSPy resolves without importing or evaluating.

    The sides are parsed as DSPy parses them (``def f(<side>): pass``); a side
    that does not parse is left for DSPy to report.
    """
    for side in text.split("->"):
        try:
            tree = ast.parse(f"def f({side}): pass")
        except SyntaxError:
            continue
        _check_type_node(tree, literal_value=False)


def _check_type_node(node: ast.AST, *, literal_value: bool) -> None:
    """Names from :data:`_TYPE_ROOTS`, public attributes, and text only as ``Literal`` values.

    A string elsewhere (``list['...']``) is a forward reference, which
    pydantic evaluates as Python code.
    """
    if isinstance(node, ast.Name) and node.id not in _TYPE_ROOTS:
        raise ValueError(
            f"Unknown name: {node.id[:60]}: types may be builtin (str, int, list, dict...), typing "
            "(Optional, Literal...) or dspy (dspy.Image...) names; nothing is imported"
        )
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ValueError(f"private attribute {node.attr[:60]!r} in a type; use public type names")
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and not literal_value:
        raise ValueError(
            f"text {node.value[:60]!r} used as a type would be evaluated as Python; "
            "write the type itself, or Literal['a', 'b'] for a choice of values"
        )
    values = node.slice if isinstance(node, ast.Subscript) and _is_literal(node.value) else None
    for child in ast.iter_child_nodes(node):  # Literal['a', 'b']: the slice, or the items of its tuple
        _check_type_node(child, literal_value=child is values or (literal_value and isinstance(node, ast.Tuple)))


def _is_literal(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Literal") or (
        isinstance(node, ast.Attribute) and node.attr == "Literal"
    )


def _parse_object(spec: dict[str, Any]) -> type[dspy.Signature]:
    unknown = set(spec) - {"inputs", "outputs", "instructions"}
    if unknown:
        raise InvalidArgument(f"signature object has unknown keys {sorted(unknown)}; use inputs, outputs, instructions")
    sides = {side: _fields(spec, side) for side in ("inputs", "outputs")}
    text = " -> ".join(", ".join(_field_text(f) for f in sides[side]) for side in ("inputs", "outputs"))
    signature = _parse_string(text)
    for field in (*sides["inputs"], *sides["outputs"]):
        if field.get("description"):
            signature = signature.with_updated_fields(field["name"], desc=str(field["description"]))
    instructions = spec.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise InvalidArgument("signature instructions must be a string")
        signature = signature.with_instructions(instructions)
    return signature


def _fields(spec: dict[str, Any], side: str) -> list[dict[str, Any]]:
    fields = spec.get(side)
    if not isinstance(fields, list) or not fields:
        raise InvalidArgument(
            f"signature object needs a non-empty list '{side}' of fields {{name, type?, description?}}"
        )
    for field in fields:
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise InvalidArgument(f"signature {side}: {field!r:.80} needs a 'name' that is a public identifier")
    return fields


def _field_text(field: dict[str, Any]) -> str:
    kind = field.get("type")
    if kind is None:
        return str(field["name"])
    if not isinstance(kind, str) or not kind.strip() or "->" in kind or "\n" in kind:
        raise InvalidArgument(f"signature field {field['name']!r}: type {kind!r:.60} is not a type like 'list[str]'")
    return f"{field['name']}: {_JSON_TYPE_NAMES.get(kind.strip(), kind)}"


def describe_signature(signature: type[dspy.Signature]) -> dict[str, Any]:
    """Fields with their types and descriptions, and the instructions."""

    def fields(table: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"name": name, "type": _type_name(field.annotation), "description": _description(name, field)}
            for name, field in table.items()
        ]

    return {
        "signature": signature.signature,
        "inputs": fields(signature.input_fields),
        "outputs": fields(signature.output_fields),
        "instructions": signature.instructions,
    }


def _description(name: str, field: Any) -> str:
    """The field's description; DSPy's placeholder ``${name}`` means none was given."""
    text = str((field.json_schema_extra or {}).get("desc", ""))
    return "" if text == f"${{{name}}}" else text


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def select_inputs(
    signature: type[dspy.Signature], values: dict[str, Any], explicit: dict[str, Any] | None
) -> dict[str, Any]:
    """The call's inputs, from an ``inputs`` object or from the remaining parameters (seed form).

    Missing and unexpected fields are reported together, naming the signature's inputs.
    """
    inputs = dict(explicit) if explicit is not None else dict(values)
    if explicit is not None and values:
        raise InvalidArgument(
            f"give the inputs either in 'inputs' or as parameters, not both (extra parameters: {sorted(values)})"
        )
    expected = list(signature.input_fields)
    missing = [name for name in expected if name not in inputs]
    unknown = [name for name in inputs if name not in signature.input_fields]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing input(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown input(s) {', '.join(map(repr, unknown))}")
        raise InvalidArgument(f"{'; '.join(problems)}: signature '{signature.signature}' takes {', '.join(expected)}")
    return inputs


def known_inputs(signature: type[dspy.Signature], values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Seed/DSPex form: the signature's inputs among ``values``, and the other names, which are ignored.

    DSPex sends context the signature does not name (``domain``...) next to
    the inputs; DSPy ignores such fields too. A missing input is still an error.
    """
    ignored = [name for name in values if name not in signature.input_fields]
    inputs = {name: value for name, value in values.items() if name in signature.input_fields}
    return select_inputs(signature, inputs, None), ignored
