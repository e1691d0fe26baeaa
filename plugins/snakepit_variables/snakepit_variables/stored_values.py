"""Values as the shared stores keep them: JSON text plus raw bytes, never pickle.

A value is written in its type's wire form (``ValueType.to_wire``): JSON,
and for large arrays the SPKB bytes (raw little-endian data behind a small
dtype/shape header). Arrays of any size keep their SPKB bytes, so their
dtype survives and reading one back is a view, not a parse. Reading goes
back through the type (``from_wire`` then ``validate`` without constraints),
so a row written by a worker with other types installed is refused clearly
rather than misread.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument, SnakepitError

if TYPE_CHECKING:
    from snakepit_host import ValueType

NO_VALUE = "null"


def encode_value(value_type: ValueType, value: Any) -> tuple[str, bytes | None]:
    """(JSON text, raw bytes or None) of a validated value."""
    if hasattr(value, "nbytes") and hasattr(value, "dtype"):
        from snakepit_variables.arrays import spkb_payload

        payload = spkb_payload(value)
        if payload is not None:
            return NO_VALUE, payload
    data, binary = value_type.to_wire(value)
    return json.dumps(data, separators=(",", ":"), allow_nan=False), binary


def decode_value(value_type: ValueType, name: str, text: str, binary: bytes | None) -> Any:
    """The value a row holds, checked by its type."""
    try:
        return value_type.validate(value_type.from_wire(json.loads(text), binary), {})
    except (ValueError, TypeError, SnakepitError) as exc:
        raise InvalidArgument(f"{name}: the stored value cannot be read: {exc}") from None


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def pack(header: dict[str, Any], binary: bytes | None) -> bytes:
    """One bytes object: a JSON header line, then the raw bytes (JSON never holds a raw newline)."""
    return dumps(header).encode() + b"\n" + (binary or b"")


def unpack(packed: bytes) -> tuple[dict[str, Any], bytes | None]:
    header, _, binary = packed.partition(b"\n")
    return json.loads(header), (binary or None)
