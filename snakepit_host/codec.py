"""Python values <-> ``google.protobuf.Any`` and binary payloads.

Both Snakepit versions put JSON *text* inside ``Any.value`` rather than
packed protobuf messages (PROTOCOL.md §4.1):

* 0.4.x tags values ``type.googleapis.com/snakepit.<type>`` and sends maps
  and mixed lists as a JSON string holding JSON (double-encoded);
* 0.13.x uses the ``google.protobuf.StringValue`` URL with plain JSON.

:func:`decode_any` accepts both (and genuinely packed wrapper messages);
:func:`encode_any` emits ``snakepit.<type>`` + JSON, which both decode.

Binary data never goes through pickle. Raw ``bytes`` travel as they are; a
:class:`TypedBuffer` (numeric array) travels as a small self-describing
header followed by the raw little-endian bytes::

    b"SPKB" | version (1 byte) | header length (uint32 LE) | header JSON | data

where the header is ``{"dtype": "float32", "shape": [2, 3]}``. The decoder
checks that the header's size matches the data before anything is used.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Collection, Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host._errors import DecodeError, EncodeError

TYPE_URL_PREFIX = "type.googleapis.com/"
SNAKEPIT_URL_PREFIX = TYPE_URL_PREFIX + "snakepit."
STRING_VALUE_URL = TYPE_URL_PREFIX + "google.protobuf.StringValue"
BINARY_SUFFIX = ".binary"
"""0.4.x's type-URL suffix for a value whose data travels in a binary field."""

BINARY_MAGIC = b"SPKB"
BINARY_VERSION = 1
_PREFIX = struct.Struct("<4sBI")
MAX_HEADER_BYTES = 4096
MAX_DIMENSIONS = 32
ARRAY_BINARY_THRESHOLD = 10_240
"""Arrays returned from handlers at or above this many bytes travel as binary."""

DTYPE_SIZES: Mapping[str, int] = {
    "bool": 1,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "uint8": 1,
    "uint16": 2,
    "uint32": 4,
    "uint64": 8,
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "complex64": 8,
    "complex128": 16,
}

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class TypedBuffer:
    """Raw little-endian numeric data with its dtype and shape.

    The host keeps arrays in this form so that it never needs numpy; call
    :meth:`to_numpy` (which imports numpy) when you want an array. The size
    is checked on construction, so a buffer that exists is consistent.
    """

    __slots__ = ("data", "dtype", "shape")

    def __init__(self, data: bytes | memoryview, dtype: str, shape: tuple[int, ...]) -> None:
        self.data = data
        self.dtype = dtype
        self.shape = tuple(shape)
        itemsize = DTYPE_SIZES.get(self.dtype)
        if itemsize is None:
            raise DecodeError(f"unsupported dtype {self.dtype!r}; expected one of {', '.join(DTYPE_SIZES)}")
        expected = math.prod(self.shape) * itemsize
        if expected != len(self.data):
            raise DecodeError(
                f"binary header says {expected} bytes ({self.dtype} x {list(self.shape)}) "
                f"but {len(self.data)} bytes follow"
            )

    def __repr__(self) -> str:
        return f"TypedBuffer(dtype={self.dtype!r}, shape={self.shape!r}, nbytes={self.nbytes})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypedBuffer):
            return NotImplemented
        return (self.dtype, self.shape) == (other.dtype, other.shape) and bytes(self.data) == bytes(other.data)

    __hash__ = None  # type: ignore[assignment]

    @property
    def nbytes(self) -> int:
        return len(self.data)

    def to_numpy(self) -> Any:
        """A read-only numpy view of the data (no copy)."""
        import numpy

        return numpy.frombuffer(self.data, dtype=numpy.dtype(self.dtype).newbyteorder("<")).reshape(self.shape)

    @classmethod
    def from_array(cls, array: Any) -> TypedBuffer:
        """Wrap a numpy array (or anything with ``dtype``, ``shape`` and ``tobytes``)."""
        dtype = str(getattr(array.dtype, "name", array.dtype))
        if dtype not in DTYPE_SIZES:
            raise EncodeError(f"arrays of dtype {dtype} cannot be sent; use one of {', '.join(DTYPE_SIZES)}")
        if getattr(array.dtype, "byteorder", "=") == ">":
            array = array.byteswap().view(array.dtype.newbyteorder("<"))
        return cls(data=array.tobytes(), dtype=dtype, shape=tuple(int(n) for n in array.shape))

    def header(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "nbytes": self.nbytes}


class Result:
    """What a handler returns to set more than the JSON value.

    ``binary`` goes to ``binary_result`` (0.13.x) as raw bytes or a packed
    :class:`TypedBuffer`; ``metadata`` is merged into the response metadata.
    """

    __slots__ = ("binary", "metadata", "value")

    def __init__(
        self,
        value: Any = None,
        binary: bytes | memoryview | TypedBuffer | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.value = value
        self.binary = binary
        self.metadata = dict(metadata or {})

    def __repr__(self) -> str:
        return f"Result(value={self.value!r}, binary={self.binary!r}, metadata={self.metadata!r})"


def pack_binary(value: bytes | bytearray | memoryview | TypedBuffer) -> bytes:
    """Wire bytes for a binary value: raw bytes as-is, typed buffers with a header."""
    if isinstance(value, TypedBuffer):
        header = json.dumps({"dtype": value.dtype, "shape": list(value.shape)}, separators=(",", ":")).encode()
        return b"".join((_PREFIX.pack(BINARY_MAGIC, BINARY_VERSION, len(header)), header, value.data))
    return bytes(value) if not isinstance(value, bytes) else value


def unpack_binary(data: bytes) -> bytes | TypedBuffer:
    """Inverse of :func:`pack_binary`; bytes without the magic prefix are returned unchanged."""
    if not data.startswith(BINARY_MAGIC):
        return data
    if len(data) < _PREFIX.size:
        raise DecodeError(f"binary payload of {len(data)} bytes is too short for its header")
    _, version, header_length = _PREFIX.unpack_from(data)
    if version != BINARY_VERSION:
        raise DecodeError(f"binary payload has header version {version}; this host reads version {BINARY_VERSION}")
    if header_length > MAX_HEADER_BYTES or _PREFIX.size + header_length > len(data):
        raise DecodeError(f"binary header claims {header_length} bytes but the payload has {len(data) - _PREFIX.size}")
    start = _PREFIX.size + header_length
    try:
        header = json.loads(data[_PREFIX.size : start])
        dtype = header["dtype"]
        shape = tuple(header["shape"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"binary header is not valid JSON with dtype and shape: {exc}") from exc
    if (
        not isinstance(dtype, str)
        or len(shape) > MAX_DIMENSIONS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise DecodeError(f"binary header has an invalid dtype or shape: {header!r}")
    return TypedBuffer(data=memoryview(data)[start:], dtype=dtype, shape=shape)


# ---------------------------------------------------------------- decoding


def semantic_type(any_message: AnyMessage) -> str:
    """The type named by a URL: ``'float'`` for ``.../snakepit.float``, ``'StringValue'`` etc."""
    tail = any_message.type_url.rsplit("/", 1)[-1]
    if tail.endswith(BINARY_SUFFIX):
        tail = tail[: -len(BINARY_SUFFIX)]
    return tail.rsplit(".", 1)[-1]


_decode_json = json.JSONDecoder().decode


def decode_any(any_message: AnyMessage, *, lenient_text: bool = False) -> Any:
    """Decode a JSON-in-Any value sent by either Snakepit version.

    ``lenient_text`` accepts non-JSON UTF-8 text under a StringValue URL as
    a plain string (Elixir falls back to ``inspect/1`` text for results it
    cannot JSON-encode); without it such a value is a :class:`DecodeError`.
    """
    url, raw = any_message.type_url, any_message.value
    if not raw:
        if not url:
            return None
        if url.endswith(("StringValue", "BytesValue")):
            return "" if url.endswith("StringValue") else b""
        raise DecodeError(f"empty value for type {url!r}")
    try:
        value = _decode_json(raw.decode())
    except ValueError as exc:  # includes UnicodeDecodeError
        return _decode_non_json(url, raw, exc, lenient_text)
    except RecursionError:
        raise DecodeError(f"value of type {url or '(no type)'} is JSON nested too deeply to decode") from None
    if url.startswith(SNAKEPIT_URL_PREFIX):
        return _snakepit_semantics(semantic_type(any_message), value)
    return value


def _snakepit_semantics(kind: str, value: Any) -> Any:
    """Conversions 0.4.x implies by its type tag."""
    if kind == "float" and isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if kind == "string" and isinstance(value, str) and value[:1] in ("{", "["):
        # 0.4.x sends maps and mixed lists as JSON text inside a JSON string.
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return value
        if isinstance(inner, (dict, list)):
            return inner
    return value


def _decode_non_json(url: str, raw: bytes, error: ValueError, lenient_text: bool) -> Any:
    tail = url.rsplit("/", 1)[-1]
    if tail.startswith("google.protobuf."):
        unpacked = _unpack_wrapper(tail[len("google.protobuf.") :], raw)
        if unpacked is not _NOT_UNPACKED:
            return unpacked
    if lenient_text and tail.endswith("StringValue"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise DecodeError(f"value of type {url or '(no type)'} is not valid JSON: {error}")


_NOT_UNPACKED = object()
_WRAPPERS = frozenset(
    {"DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue"}
).union({"BytesValue"})
_STRUCTS = frozenset({"Struct", "Value", "ListValue"})


def _unpack_wrapper(name: str, raw: bytes) -> Any:
    """Read a genuinely packed wrapper/struct message (0.13.x ``call_elixir_tool`` sends these).

    Only the message types named above: the name comes from the wire, and
    looking any other up on the protobuf modules would reach whatever they
    hold (``__dir__``, their imports).
    """
    if name not in _WRAPPERS and name not in _STRUCTS:
        return _NOT_UNPACKED
    from google.protobuf import json_format, struct_pb2, wrappers_pb2
    from google.protobuf.message import DecodeError as ProtobufDecodeError

    cls = getattr(wrappers_pb2 if name in _WRAPPERS else struct_pb2, name)
    message = cls()
    try:
        message.ParseFromString(raw)
    except ProtobufDecodeError:
        return _NOT_UNPACKED
    if name in _WRAPPERS:
        return message.value
    return json_format.MessageToDict(message)


def decode_parameters(parameters: Mapping[str, AnyMessage], binary_names: Collection[str] = ()) -> dict[str, Any]:
    """Decode a request's parameter map; errors name the parameter.

    ``binary_names`` are the request's binary parameters. A parameter in
    0.4.x's ``.binary`` form without its bytes among them is what Snakepit
    0.4.1 sends for a numeric list over 1 280 elements: only the description,
    the data dropped on the Elixir side. It is refused, saying so.
    """
    decoded: dict[str, Any] = {}
    for name, value in parameters.items():
        if value.type_url.endswith(BINARY_SUFFIX) and name not in binary_names:
            raise DecodeError(f"parameter '{name}': {_dropped_data(value)}")
        try:
            decoded[name] = decode_any(value)
        except DecodeError as exc:
            raise DecodeError(f"parameter '{name}': {exc}") from None
    return decoded


def _dropped_data(value: AnyMessage) -> str:
    try:
        meta = json.loads(value.value)
    except ValueError:
        meta = None
    shape = meta.get("shape") if isinstance(meta, dict) else None
    what = f"the {semantic_type(value)} (shape {shape})"[:200] if shape is not None else "the value"
    return (
        f"only the description of {what} arrived, without its data (Snakepit 0.4.1 drops the bytes of numeric "
        "lists over 1280 elements in ExecuteTool parameters); send at most 1280 numbers per list, or the data "
        "as one JSON or base64 string parameter, or as a binary parameter (Snakepit 0.13's binary_parameters)"
    )


# ---------------------------------------------------------------- encoding


def _wire_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return "map"  # dicts, and null (0.4.x decodes a map tag without validating)


PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
"""Result types that need no inspection before encoding (the common, fast case)."""


def to_json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON; non-finite floats become the strings Snakepit uses."""
    try:
        return _ENCODER.encode(value).encode()
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise EncodeError(f"result cannot be encoded as JSON: {exc}") from exc
        return to_json_bytes(_replace_non_finite(value))
    except TypeError as exc:
        raise EncodeError(f"result is not JSON-serializable: {exc}") from exc
    except RecursionError:
        raise EncodeError("result is nested too deeply to encode as JSON") from None


def encode_any(value: Any) -> AnyMessage:
    """``snakepit.<type>`` + JSON, readable by both Snakepit versions."""
    value = to_jsonable(value)
    return AnyMessage(type_url=SNAKEPIT_URL_PREFIX + _wire_type(value), value=to_json_bytes(value))


def encode_into(target: AnyMessage, value: Any) -> None:
    """:func:`encode_any` written into an existing message field (no intermediate copy)."""
    value = to_jsonable(value)
    target.type_url = SNAKEPIT_URL_PREFIX + _wire_type(value)
    target.value = to_json_bytes(value)


def encode_json_any(value: Any) -> AnyMessage:
    """StringValue URL + plain JSON: what Elixir expects in ExecuteElixirTool parameters."""
    return AnyMessage(type_url=STRING_VALUE_URL, value=to_json_bytes(value))


def to_jsonable(value: Any) -> Any:
    """Convert well-known non-JSON objects at the top level (the encoder handles nesting)."""
    if isinstance(value, (str, int, float, bool, dict, list)) or value is None:
        return value
    try:
        return _json_default(value)
    except TypeError as exc:
        raise EncodeError(f"result is not JSON-serializable: {exc}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(value, key=repr) if not isinstance(value, tuple) else list(value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy arrays and scalars
        return value.tolist()
    if hasattr(value, "model_dump"):  # pydantic models
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if hasattr(value, "isoformat"):  # date, time, datetime
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(
            "bytes nested inside a result cannot travel as JSON; return them at the top level "
            "or in snakepit_host.Result(binary=...)"
        )
    raise TypeError(f"object of type {type(value).__name__} is not JSON-serializable")


# One encoder for every call: json.dumps with non-default options builds a new one each time.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default)


def _replace_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _replace_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_non_finite(v) for v in value]
    return value


def as_binary(value: Any) -> bytes | memoryview | TypedBuffer | None:
    """The binary form of a handler's return value, or None if it is not binary."""
    if isinstance(value, (bytes, bytearray, memoryview, TypedBuffer)):
        return value if not isinstance(value, bytearray) else bytes(value)
    is_array = hasattr(value, "__array_interface__") and hasattr(value, "tobytes")
    if is_array and getattr(value, "nbytes", 0) >= ARRAY_BINARY_THRESHOLD and value.dtype.name in DTYPE_SIZES:
        return TypedBuffer.from_array(value)
    return None


def binary_summary(value: bytes | memoryview | TypedBuffer) -> dict[str, Any]:
    """JSON description of a binary result, sent alongside it."""
    if isinstance(value, TypedBuffer):
        return value.header()
    return {"nbytes": len(value)}


class StreamChunk:
    """An item a streaming handler yields to control its chunk.

    ``is_final=True`` ends the stream after this chunk; ``metadata`` is sent
    with it. Plain yielded values are wrapped in a chunk automatically.
    """

    __slots__ = ("data", "is_final", "metadata")

    def __init__(self, data: Any = None, is_final: bool = False, metadata: dict[str, str] | None = None) -> None:
        self.data = data
        self.is_final = is_final
        self.metadata = dict(metadata or {})

    def __repr__(self) -> str:
        return f"StreamChunk(data={self.data!r}, is_final={self.is_final!r}, metadata={self.metadata!r})"


def chunk_bytes(item: Any) -> bytes:
    """The ``ToolChunk.data`` bytes for one yielded item."""
    if isinstance(item, (bytes, bytearray, memoryview, TypedBuffer)):
        return pack_binary(item)
    return to_json_bytes(to_jsonable(item))
