"""The ``.binary`` forms of a variable's value: SPKB, raw, and (read only) Erlang terms.

In 0.4.x's ``.binary`` form the Any holds a JSON description of the value
and the bytes travel in the message's binary field (``Variable.binary_value``,
``initial_binary_value``, ``binary_value``, ``binary_updates``). Its
``binary_format`` says how to read them:

* ``spkb`` (also when absent): the host codec's layout, ``SPKB`` + a dtype/shape
  header + raw little-endian data. The default for replies.
* ``raw``: the data alone; the Any says ``dtype``, ``shape`` and
  ``byte_order`` (``little`` or ``big``, required: Erlang's bit syntax is
  big-endian by default, so guessing would read garbage). An Elixir client
  can send a tensor with ``<<x::float-32-little>>`` and no framing code.
  Replies use it for variables whose metadata says ``binary_format: raw``.
* ``erlang_binary``: ``:erlang.term_to_binary`` of a list, as Snakepit 0.4.1's
  Elixir store sends embeddings of 1 281 floats or more; read by the strict
  decoder of :mod:`snakepit_variables.erlang_terms`, never written.
* ``pickle`` (0.4.x Python) is refused unread, as is any other name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument, TypedBuffer, codec

if TYPE_CHECKING:
    from snakepit_host import ValueType

SPKB = "spkb"
RAW = "raw"
ERLANG = "erlang_binary"
FORMAT_KEY = "binary_format"
"""The key naming the form, in the Any's JSON and in a variable's metadata (which form its replies use)."""
REPLY_FORMATS = (SPKB, RAW)
BYTE_ORDERS = ("little", "big")


def decode(meta: Any, binary: bytes, value_type: ValueType) -> Any:
    """The value that ``binary``, described by ``meta`` (the Any's JSON), carries; for ``value_type.validate``."""
    fmt = meta.get(FORMAT_KEY) if isinstance(meta, Mapping) else None
    if fmt == "pickle":
        raise InvalidArgument(
            "binary_format 'pickle' is refused: this host never unpickles; send SPKB or raw bytes (see raw's header)"
        )
    if fmt not in (None, SPKB, RAW, ERLANG):
        raise InvalidArgument(f"binary_format {fmt!r} is not one of {SPKB}, {RAW}, {ERLANG}")
    if fmt == ERLANG:
        return value_type.from_wire(_erlang_value(meta, binary), None)
    if fmt == RAW:
        return value_type.from_wire(meta, codec.pack_binary(_raw_buffer(meta, binary)))
    return value_type.from_wire(meta, binary)


def reply(data: Any, binary: bytes, binary_format: str) -> tuple[Any, bytes]:
    """A value type's SPKB form (``data`` describing ``binary``) in the form a variable's replies use."""
    if binary_format != RAW or not binary.startswith(codec.BINARY_MAGIC):
        return data, binary
    buffer = codec.unpack_binary(binary)
    assert isinstance(buffer, TypedBuffer)
    described = dict(data) if isinstance(data, Mapping) else {}
    described.update(
        {FORMAT_KEY: RAW, "dtype": buffer.dtype, "shape": list(buffer.shape), "byte_order": BYTE_ORDERS[0]}
    )
    return described, bytes(buffer.data)


def reply_format(metadata: Mapping[str, str]) -> str:
    """The form a variable's large values are sent in (metadata ``binary_format``; SPKB by default)."""
    return RAW if metadata.get(FORMAT_KEY) == RAW else SPKB


def check_reply_format(metadata: Mapping[str, str]) -> None:
    """Refuse a caller's metadata that asks for a reply form this host does not write."""
    chosen = metadata.get(FORMAT_KEY)
    if chosen is not None and chosen not in REPLY_FORMATS:
        raise InvalidArgument(f"metadata {FORMAT_KEY} must be {' or '.join(REPLY_FORMATS)}, got {chosen!r:.100}")


def _raw_buffer(meta: Mapping[str, Any], binary: bytes) -> TypedBuffer:
    dtype, shape, order = meta.get("dtype"), meta.get("shape"), meta.get("byte_order")
    if not isinstance(dtype, str) or dtype not in codec.DTYPE_SIZES:
        raise InvalidArgument(f"raw binary: dtype must be one of {', '.join(codec.DTYPE_SIZES)}, got {dtype!r:.100}")
    if not isinstance(shape, list) or len(shape) > codec.MAX_DIMENSIONS or not all(_is_size(n) for n in shape):
        raise InvalidArgument(
            f"raw binary: shape must be a list of at most {codec.MAX_DIMENSIONS} non-negative integers, "
            f"got {shape!r:.100}"
        )
    if order not in BYTE_ORDERS:
        raise InvalidArgument(f"raw binary: byte_order must be 'little' or 'big', got {order!r:.100}")
    itemsize = codec.DTYPE_SIZES[dtype]
    if len(binary) != math.prod(shape) * itemsize:
        raise InvalidArgument(
            f"raw binary: {dtype} x {shape} is {math.prod(shape) * itemsize} bytes but {len(binary)} bytes came"
        )
    data = binary if order == "little" or itemsize == 1 else _swapped(binary, itemsize)
    return TypedBuffer(data=data, dtype=dtype, shape=tuple(shape))


def _is_size(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _swapped(data: bytes, itemsize: int) -> bytes:
    """Each ``itemsize``-byte element with its bytes reversed (big-endian <-> little-endian)."""
    swapped = bytearray(len(data))
    for i in range(itemsize):
        swapped[i::itemsize] = data[itemsize - 1 - i :: itemsize]
    return bytes(swapped)


def _erlang_value(meta: Mapping[str, Any], binary: bytes) -> Any:
    """What Elixir's ``Serialization.decode_any`` would rebuild (its ``dtype`` says float32 whatever the data)."""
    from snakepit_variables.erlang_terms import decode_term

    term = decode_term(binary)
    shape = meta.get("shape")
    if meta.get("type") == "tensor":
        return {"shape": shape, "data": term}
    if isinstance(shape, list) and len(shape) == 1 and isinstance(term, list) and len(term) != shape[0]:
        raise InvalidArgument(f"the Erlang term holds {len(term)} elements but the value says shape {shape}")
    return term
