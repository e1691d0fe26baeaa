"""A strict decoder of Erlang's External Term Format (ETF), for the numbers Elixir sends.

Snakepit 0.4.1's Elixir session store sends an embedding of 1 281 floats or
more as ``:erlang.term_to_binary(list)`` with ``binary_format:
"erlang_binary"`` (PROTOCOL.md §4.2). Python has no ``binary_to_term``, and
a general one would be the wrong tool anyway: ETF can carry pids, funs and
references, and on the BEAM decoding it creates atoms. This decoder reads
only the subset that carries numeric data:

=========================================================  ==============
ETF                                                        Python
=========================================================  ==============
NEW_FLOAT_EXT (always finite)                              ``float``
SMALL_INTEGER_EXT, INTEGER_EXT, SMALL_BIG_EXT, LARGE_BIG   ``int`` (at most ``MAX_BIG_BYTES`` bytes)
NIL_EXT, proper LIST_EXT, STRING_EXT                       ``list`` (STRING_EXT: of ints, never text)
the atoms ``nil``, ``true``, ``false`` (all 4 encodings)   ``None``, ``True``, ``False``
BINARY_EXT                                                 ``bytes``
the compressed form (tag 80, zlib)                         what it holds
=========================================================  ==============

Everything else (tuples, maps, other atoms, pids, ports, references, funs,
bit strings, improper lists, the old FLOAT_EXT text floats) is refused with
an :class:`InvalidArgument` naming the term and its byte offset. Nothing is
created, looked up or evaluated; the atom names above are compared as bytes.
Sizes are bounded before anything is allocated: a declared length must fit
in the bytes that follow, lists nest at most ``MAX_DEPTH`` deep and hold at
most ``MAX_ELEMENTS`` elements in all, and a compressed term is inflated
only up to its declared size, itself at most ``MAX_INFLATED_BYTES``.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

from snakepit_host import InvalidArgument

VERSION = 131
MAX_DEPTH = 32
"""Lists inside lists, counted from the outermost (a tensor of 32 dimensions fits)."""
MAX_ELEMENTS = 1 << 24
"""List elements in one term, nested ones included."""
MAX_BIG_BYTES = 128
"""Bignums up to 1 024 bits: every integer a finite float can hold, and no more."""
MAX_INFLATED_BYTES = 64 * 1024 * 1024

COMPRESSED = 80
NEW_FLOAT = 70
SMALL_INTEGER = 97
INTEGER = 98
ATOM = 100
NIL = 106
STRING = 107
LIST = 108
BINARY = 109
SMALL_BIG = 110
LARGE_BIG = 111
SMALL_ATOM = 115
ATOM_UTF8 = 118
SMALL_ATOM_UTF8 = 119

_ATOMS: dict[bytes, Any] = {b"nil": None, b"true": True, b"false": False}
_REFUSED = {
    68: "a distribution header (DIST_HEADER)",
    77: "a bit string (BIT_BINARY_EXT)",
    82: "an atom cache reference (ATOM_CACHE_REF)",
    88: "a pid (NEW_PID_EXT)",
    89: "a port (NEW_PORT_EXT)",
    90: "a reference (NEWER_REFERENCE_EXT)",
    99: "a text float (FLOAT_EXT, from minor_version 0; encode with the default minor_version)",
    101: "a reference (REFERENCE_EXT)",
    102: "a port (PORT_EXT)",
    103: "a pid (PID_EXT)",
    104: "a tuple (SMALL_TUPLE_EXT)",
    105: "a tuple (LARGE_TUPLE_EXT)",
    112: "a fun (NEW_FUN_EXT)",
    113: "a fun (EXPORT_EXT)",
    114: "a reference (NEW_REFERENCE_EXT)",
    116: "a map (MAP_EXT)",
    117: "a fun (FUN_EXT)",
    120: "a port (V4_PORT_EXT)",
    121: "a local term (LOCAL_EXT)",
}
_FLOAT = struct.Struct(">d")
_TAGGED_FLOAT = struct.Struct(">xd")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_FAST_LIST = 16
"""From this many elements, a list of floats only is read in one pass."""


def decode_term(data: bytes) -> Any:
    """The value of ``:erlang.term_to_binary(term)``'s bytes; InvalidArgument if outside the numeric subset."""
    if not data:
        raise InvalidArgument("Erlang term: no bytes")
    if data[0] != VERSION:
        raise InvalidArgument(f"Erlang term: the first byte is {data[0]}, not the version byte {VERSION}")
    if len(data) > 1 and data[1] == COMPRESSED:
        return _Reader(_inflate(data), 0, "inflated byte").whole()
    return _Reader(data, 1, "byte").whole()


def _inflate(data: bytes) -> bytes:
    if len(data) < 6:
        raise InvalidArgument("Erlang term: the compressed form is truncated before its size")
    (size,) = _U32.unpack_from(data, 2)
    if size > MAX_INFLATED_BYTES:
        raise InvalidArgument(
            f"Erlang term: the compressed form declares {size} bytes; at most {MAX_INFLATED_BYTES} are read"
        )
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data[6:], size)
    except zlib.error as exc:
        raise InvalidArgument(f"Erlang term: the compressed form is not valid zlib data: {exc}") from None
    if len(inflated) != size or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise InvalidArgument(f"Erlang term: the compressed form does not inflate to exactly its declared {size} bytes")
    return inflated


class _Reader:
    """One pass over the bytes; messages give offsets in them (``where`` says which bytes they are)."""

    def __init__(self, data: bytes, position: int, where: str) -> None:
        self.data = data
        self.position = position
        self.elements = 0
        self.where = where

    def whole(self) -> Any:
        value = self.term(0)
        left = len(self.data) - self.position
        if left:
            raise InvalidArgument(f"Erlang term: {left} bytes follow the end of the term")
        return value

    def fail(self, what: str, at: int | None = None) -> InvalidArgument:
        return InvalidArgument(f"Erlang term at {self.where} {self.position if at is None else at}: {what}")

    def take(self, count: int, what: str) -> int:
        """The position of ``count`` bytes of ``what``, which must be there; moves past them."""
        start = self.position
        if count > len(self.data) - start:
            raise self.fail(f"truncated: {what} needs {count} bytes, {len(self.data) - start} are left")
        self.position = start + count
        return start

    def length(self, layout: struct.Struct, what: str) -> int:
        length: int = layout.unpack_from(self.data, self.take(layout.size, f"the length of {what}"))[0]
        return length

    def term(self, depth: int) -> Any:
        at = self.take(1, "a term")
        tag = self.data[at]
        if tag == NEW_FLOAT:
            (value,) = _FLOAT.unpack_from(self.data, self.take(8, "a float"))
            if not math.isfinite(value):
                raise self.fail(f"{value} is not an Erlang float (those are always finite)", at)
            return value
        if tag == SMALL_INTEGER:
            return self.data[self.take(1, "a small integer")]
        if tag == INTEGER:
            return _I32.unpack_from(self.data, self.take(4, "an integer"))[0]
        if tag in (SMALL_BIG, LARGE_BIG):
            return self.big(tag, at)
        if tag == NIL:
            return []
        if tag == STRING:
            count = self.length(_U16, "a STRING_EXT list")
            self.count(count, at)
            start = self.take(count, "a STRING_EXT list")
            return list(self.data[start : start + count])
        if tag == LIST:
            return self.proper_list(depth, at)
        if tag == BINARY:
            size = self.length(_U32, "a binary")
            start = self.take(size, "a binary")
            return self.data[start : start + size]
        if tag in (ATOM, SMALL_ATOM, ATOM_UTF8, SMALL_ATOM_UTF8):
            return self.atom(tag, at)
        refused = _REFUSED.get(tag, f"an unknown tag {tag}")
        raise self.fail(f"{refused} is not allowed; only numbers, lists, binaries and nil/true/false are read", at)

    def count(self, elements: int, at: int) -> None:
        self.elements += elements
        if self.elements > MAX_ELEMENTS:
            raise self.fail(f"more than {MAX_ELEMENTS} list elements in one term", at)

    def big(self, tag: int, at: int) -> int:
        size = self.data[self.take(1, "a bignum size")] if tag == SMALL_BIG else self.length(_U32, "a bignum")
        if size > MAX_BIG_BYTES:
            raise self.fail(f"an integer of {size} bytes is beyond the limit of {MAX_BIG_BYTES} bytes", at)
        sign = self.data[self.take(1, "a bignum sign")]
        if sign > 1:
            raise self.fail(f"a bignum sign must be 0 or 1, got {sign}", at)
        start = self.take(size, "a bignum")
        magnitude = int.from_bytes(self.data[start : start + size], "little")
        return -magnitude if sign else magnitude

    def proper_list(self, depth: int, at: int) -> list[Any]:
        if depth >= MAX_DEPTH:
            raise self.fail(f"lists nest more than {MAX_DEPTH} deep", at)
        count = self.length(_U32, "a list")
        if count + 1 > len(self.data) - self.position:  # every element and the tail take a byte at least
            raise self.fail(
                f"truncated: a list of {count} elements cannot fit in {len(self.data) - self.position} bytes"
            )
        self.count(count, at)
        items = self.floats(count)
        if items is None:
            items = [self.term(depth + 1) for _ in range(count)]
        tail = self.take(1, "the tail of a list")
        if self.data[tail] != NIL:
            raise self.fail("an improper list (its tail is not []) is not allowed", tail)
        return items

    def floats(self, count: int) -> list[Any] | None:
        """A list of ``count`` NEW_FLOAT_EXT elements read in one pass, or None if it is not one."""
        start, end = self.position, self.position + 9 * count
        if count < _FAST_LIST or end > len(self.data) or self.data[start:end:9].count(NEW_FLOAT) != count:
            return None
        values = [value for (value,) in _TAGGED_FLOAT.iter_unpack(memoryview(self.data)[start:end])]
        if not all(map(math.isfinite, values)):
            return None  # the element-wise reader reports the first one, with its offset
        self.position = end
        return values

    def atom(self, tag: int, at: int) -> Any:
        layout_size = 1 if tag in (SMALL_ATOM, SMALL_ATOM_UTF8) else 2
        start = self.take(layout_size, "an atom length")
        size = self.data[start] if layout_size == 1 else _U16.unpack_from(self.data, start)[0]
        name = self.data[self.take(size, "an atom") : self.position]
        if name in _ATOMS:
            return _ATOMS[name]
        shown = name[:40].decode("utf-8" if tag in (ATOM_UTF8, SMALL_ATOM_UTF8) else "latin-1", "replace")
        raise self.fail(f"the atom {shown!r} is not allowed; only nil, true and false are read", at)
