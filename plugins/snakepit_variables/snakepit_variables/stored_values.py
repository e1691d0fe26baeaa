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


def pack(header: dict[str, Any], text: str | None, binary: bytes | None) -> bytes:
    """One bytes object: a JSON header line, the value's JSON text line, then its raw bytes.

    (JSON never holds a raw newline, so the two first newlines separate the parts.)
    A ``None`` text means the value was not kept.
    """
    value = b"" if text is None else text.encode()
    return dumps({**header, "kept": text is not None}).encode() + b"\n" + value + b"\n" + (binary or b"")


def unpack(packed: bytes) -> tuple[dict[str, Any], str | None, bytes | None]:
    header, _, rest = packed.partition(b"\n")
    text, _, binary = rest.partition(b"\n")
    fields: dict[str, Any] = json.loads(header)
    return fields, (text.decode() if fields["kept"] else None), (binary or None)
