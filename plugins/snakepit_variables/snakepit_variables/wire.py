"""Variables <-> Snakepit 0.4.x protobuf messages (PROTOCOL.md §2.2, §4, §5).

Values travel as ``type.googleapis.com/snakepit.<type>`` + JSON in an Any.
Large arrays travel as 0.4.x's ``.binary`` form: the Any holds a small JSON
description (shape, dtype, ``binary_format``) and the bytes go in the
message's binary field; :mod:`snakepit_variables.binary_forms` reads and
writes its forms (SPKB, raw, Erlang terms read only, pickle refused).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.timestamp_pb2 import Timestamp

from snakepit_host import InvalidArgument, codec, pb
from snakepit_variables import binary_forms
from snakepit_variables.model import PYTHON, ChangeEvent, HistoryEntry, Variable

if TYPE_CHECKING:
    from snakepit_host import ValueType


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def value_form(value_type: ValueType, value: Any, binary_format: str) -> tuple[Any, bytes | None]:
    """(JSON data, binary bytes or None) of a validated value, large ones in ``binary_format`` (spkb or raw)."""
    data, binary = value_type.to_wire(value)
    return (data, None) if binary is None else binary_forms.reply(data, binary, binary_format)


def encode_value(
    type_name: str, value_type: ValueType, value: Any, binary_format: str = binary_forms.SPKB
) -> tuple[AnyMessage, bytes]:
    """(Any, binary bytes or b"") for a validated value."""
    data, binary = value_form(value_type, value, binary_format)
    url = codec.SNAKEPIT_URL_PREFIX + type_name + (codec.BINARY_SUFFIX if binary else "")
    return AnyMessage(type_url=url, value=codec.to_json_bytes(data)), binary or b""


def decode_value(message: AnyMessage, binary: bytes, value_type: ValueType) -> Any:
    """The value a request carries, ready for ``value_type.validate`` (which may still refuse it)."""
    if message.type_url.endswith(codec.BINARY_SUFFIX):
        meta = _json(message.value)
        if not binary:
            raise InvalidArgument(
                f"the value is marked {codec.BINARY_SUFFIX} but no binary bytes came with it (Snakepit 0.4.1's "
                "Elixir client sends only the description of embeddings over 1280 elements); send at most 1280 "
                "numbers as JSON, or the data in the binary field (SPKB or raw)"
            )
        return binary_forms.decode(meta, binary, value_type)
    if binary:
        return value_type.from_wire(_json(message.value) if message.value else None, binary)
    if not message.value:
        return None
    try:
        data = json.loads(message.value)
    except ValueError:
        data = codec.decode_any(message, lenient_text=True)  # genuinely packed wrapper messages
    wants_text = getattr(value_type, "python_type", None) == "str"
    if codec.semantic_type(message) == "string" and isinstance(data, str) and data[:1] in ("{", "[") and not wants_text:
        data = _unwrap_json_text(data)
    return value_type.from_wire(data, None)


def _unwrap_json_text(text: str) -> Any:
    """0.4.x sends maps and mixed lists as JSON text inside a JSON string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"value is not valid JSON: {exc}") from None


def constraints_from_json(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        constraints = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"constraints_json is not valid JSON: {exc}") from None
    if not isinstance(constraints, dict):
        raise InvalidArgument(f"constraints_json must be a JSON object, got {type(constraints).__name__}")
    return constraints


def variable_message(variable: Variable, value_type: ValueType) -> pb.Variable:
    binary_format = binary_forms.reply_format(variable.metadata)
    value, binary = encode_value(variable.type, value_type, variable.value, binary_format)
    return pb.Variable(
        id=variable.id,
        name=variable.name,
        type=variable.type,
        value=value,
        constraints_json=json.dumps(dict(variable.constraints), separators=(",", ":")),
        metadata=dict(variable.metadata),
        source=pb.Variable.PYTHON if variable.source == PYTHON else pb.Variable.ELIXIR,
        last_updated_at=timestamp(variable.updated_at),
        version=variable.version,
        binary_value=binary,
    )


def update_message(event: ChangeEvent, value_type: ValueType) -> pb.VariableUpdate:
    return pb.VariableUpdate(
        variable_id=event.variable.id,
        variable=variable_message(event.variable, value_type),
        update_source=event.source.lower(),
        update_metadata=dict(event.metadata),
        timestamp=timestamp(event.timestamp),
        update_type=event.kind,
    )


def history_message(entry: HistoryEntry, type_name: str, value_type: ValueType) -> pb.VariableHistoryEntry:
    metadata = dict(entry.metadata)
    message = pb.VariableHistoryEntry(
        version=entry.version,
        timestamp=timestamp(entry.timestamp),
        changed_by=entry.source.lower(),
    )
    if entry.value_kept:
        value, binary = encode_value(type_name, value_type, entry.value)
        if binary:  # the entry has no binary field: describe the value instead of sending it
            metadata["value_omitted"] = "binary"
        else:
            message.value.CopyFrom(value)
    else:
        metadata["value_omitted"] = "not kept"
    message.metadata.update(metadata)
    return message
