"""The strict ETF decoder: hand-built bytes of every term kind, hostile and truncated inputs, round trips.

The bytes are written out by hand from OTP's ``erl_ext_dist`` layout (the
notes' tag table), so a test never relies on the decoder to build its input.
The small encoder at the end is for property tests only; it writes what
``:erlang.term_to_binary/1`` writes for the same terms.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakepit_variables import erlang_terms
from snakepit_variables.erlang_terms import decode_term

from snakepit_host import InvalidArgument


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def flt(x: float) -> bytes:
    return b"F" + struct.pack(">d", x)


def refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode_term(data)
    assert message in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("Erlang term")


# ---------------------------------------------------------------- every kind


@pytest.mark.parametrize(
    ("data", "value"),
    [
        # what Snakepit 0.4.1 sends for [1.0, 2.0] (the notes' example, byte for byte)
        (bytes.fromhex("836c00000002463ff00000000000004640000000000000006a"), [1.0, 2.0]),
        (b"\x83" + flt(-0.0), -0.0),
        (b"\x83" + flt(1e308), 1e308),
        (b"\x83" + flt(5e-324), 5e-324),
        (b"\x83a\x00", 0),
        (b"\x83a\xff", 255),
        (b"\x83b" + struct.pack(">i", -1), -1),
        (b"\x83b" + struct.pack(">i", 2**31 - 1), 2**31 - 1),
        (b"\x83b" + struct.pack(">i", -(2**31)), -(2**31)),
        (b"\x83n\x04\x00" + (2**31).to_bytes(4, "little"), 2**31),  # SMALL_BIG, little-endian digits
        (b"\x83n\x05\x01" + (2**32).to_bytes(5, "little"), -(2**32)),
        (b"\x83n\x08\x00" + (2**64 - 1).to_bytes(8, "little"), 2**64 - 1),
        (b"\x83o" + u32(3) + b"\x00" + (2**17).to_bytes(3, "little"), 2**17),  # LARGE_BIG
        (b"\x83j", []),  # NIL_EXT
        (b"\x83k\x00\x03\x01\x02\x03", [1, 2, 3]),  # STRING_EXT: [1, 2, 3] is a list of ints, not text
        (b"\x83k\x00\x02hi", [104, 105]),  # ~c"hi" is the same list
        (b"\x83l" + u32(2) + b"a\x01b" + struct.pack(">i", 256) + b"j", [1, 256]),
        (b"\x83l" + u32(2) + b"j" + b"k\x00\x01\x07" + b"j", [[], [7]]),  # nested
        (b"\x83l" + u32(2) + b"l" + u32(1) + flt(0.5) + b"j" + b"j" + b"j", [[0.5], []]),
        (b"\x83m" + u32(3) + b"abc", b"abc"),  # BINARY_EXT
        (b"\x83m" + u32(0), b""),
        (b"\x83w\x03nil", None),  # SMALL_ATOM_UTF8_EXT (OTP 26+ default)
        (b"\x83w\x04true", True),
        (b"\x83w\x05false", False),
        (b"\x83v\x00\x04true", True),  # ATOM_UTF8_EXT
        (b"\x83d\x00\x03nil", None),  # ATOM_EXT (Latin-1, before OTP 26)
        (b"\x83d\x00\x05false", False),
        (b"\x83s\x04true", True),  # SMALL_ATOM_EXT
        (b"\x83l" + u32(3) + b"w\x03nil" + b"d\x00\x04true" + flt(2.5) + b"j", [None, True, 2.5]),
    ],
)
def test_each_term_kind_decodes(data: bytes, value: Any) -> None:
    decoded = decode_term(data)
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, decoded) == math.copysign(1, value)


def test_the_exact_bytes_of_a_large_embedding_from_snakepit_0_4_1() -> None:
    values = [i * 0.25 - 300 for i in range(1281)]
    data = b"\x83l" + u32(1281) + b"".join(flt(v) for v in values) + b"j"
    assert len(data) == 7 + 9 * 1281
    assert decode_term(data) == values


def test_the_one_pass_float_reader_agrees_with_the_element_reader() -> None:
    values = [float(i) for i in range(40)]
    mixed = [*values[:20], 7, *values[20:]]  # one integer: read element by element
    encoded = b"\x83l" + u32(41) + b"".join(flt(v) for v in values[:20]) + b"a\x07"
    encoded += b"".join(flt(v) for v in values[20:]) + b"j"
    assert decode_term(encoded) == mixed
    assert decode_term(b"\x83l" + u32(40) + b"".join(flt(v) for v in values) + b"j") == values


def test_compressed_form_is_inflated() -> None:
    inner = b"l" + u32(300) + b"".join(flt(i / 3) for i in range(300)) + b"j"
    data = b"\x83P" + u32(len(inner)) + zlib.compress(inner)
    assert decode_term(data) == [i / 3 for i in range(300)]


# ---------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no bytes"),
        (b"\x82j", "the first byte is 130, not the version byte 131"),
        (b"\x83", "truncated: a term needs 1 bytes, 0 are left"),
        (b"\x83F\x3f\xf0", "truncated: a float needs 8 bytes, 2 are left"),
        (b"\x83b\x00\x00", "truncated: an integer needs 4 bytes"),
        (b"\x83n\x04\x00\x01", "truncated: a bignum needs 4 bytes"),
        (b"\x83l\x00\x00", "truncated: the length of a list needs 4 bytes"),
        (b"\x83l" + u32(20) + flt(1.0), "truncated: a list of 20 elements cannot fit in 9 bytes"),
        (b"\x83l" + u32(2) + flt(1.0), "at byte 15: truncated: a term needs 1 bytes, 0 are left"),
        (b"\x83l" + u32(1) + flt(1.0), "truncated: the tail of a list needs 1 bytes"),
        (b"\x83k\x00\x05\x01", "truncated: a STRING_EXT list needs 5 bytes"),
        (b"\x83m" + u32(10) + b"abc", "truncated: a binary needs 10 bytes, 3 are left"),
        (b"\x83w\x05fal", "truncated: an atom needs 5 bytes"),
        # huge declared lengths are refused before anything is allocated
        (b"\x83l\xff\xff\xff\xff", "a list of 4294967295 elements cannot fit in 0 bytes"),
        (b"\x83m\xff\xff\xff\xff", "a binary needs 4294967295 bytes"),
        (b"\x83o\xff\xff\xff\xff\x00", "an integer of 4294967295 bytes is beyond the limit of 128 bytes"),
        (b"\x83o" + u32(129) + b"\x00" + b"\x01" * 129, "an integer of 129 bytes is beyond the limit"),
        (b"\x83n\x01\x02\x01", "a bignum sign must be 0 or 1, got 2"),
        (b"\x83P\xff\xff\xff\xff" + zlib.compress(b"j"), "declares 4294967295 bytes; at most 67108864 are read"),
        (b"\x83P" + u32(1) + b"not zlib", "not valid zlib data"),
        (b"\x83P" + u32(5) + zlib.compress(b"j"), "does not inflate to exactly its declared 5 bytes"),
        (b"\x83P" + u32(1) + zlib.compress(b"jj"), "does not inflate to exactly its declared 1 bytes"),
        (b"\x83P" + u32(1) + zlib.compress(b"j") + b"x", "does not inflate to exactly"),
        (b"\x83P\x00", "the compressed form is truncated before its size"),
        (b"\x83jj", "1 bytes follow the end of the term"),
        (b"\x83a\x01\x00\x00", "2 bytes follow the end of the term"),
        # outside the numeric subset
        (b"\x83w\x04kill", "the atom 'kill' is not allowed; only nil, true and false are read"),
        (b"\x83d\x00\x08infinity", "the atom 'infinity' is not allowed"),
        (b"\x83s\x03NIL", "the atom 'NIL' is not allowed"),
        (b"\x83v\x00\x02\xc3\xa9", "the atom 'é' is not allowed"),
        (b"\x83w\x04" + "Elixir.File"[:4].encode(), "the atom 'Elix' is not allowed"),
        (b"\x83h\x01a\x01", "a tuple (SMALL_TUPLE_EXT) is not allowed"),
        (b"\x83i" + u32(1) + b"a\x01", "a tuple (LARGE_TUPLE_EXT) is not allowed"),
        (b"\x83t" + u32(0), "a map (MAP_EXT) is not allowed"),
        (b"\x83X" + b"w\x0dnonode@nohost" + b"\x00" * 12, "a pid (NEW_PID_EXT) is not allowed"),
        (b"\x83g" + b"\x00" * 12, "a pid (PID_EXT) is not allowed"),
        (b"\x83Z\x00\x01w\x0dnonode@nohost" + b"\x00" * 8, "a reference (NEWER_REFERENCE_EXT) is not allowed"),
        (b"\x83r\x00\x01", "a reference (NEW_REFERENCE_EXT) is not allowed"),
        (b"\x83Y" + b"\x00" * 10, "a port (NEW_PORT_EXT) is not allowed"),
        (b"\x83p" + u32(0), "a fun (NEW_FUN_EXT) is not allowed"),
        (b"\x83qw\x04Filew\x02rma\x01", "a fun (EXPORT_EXT) is not allowed"),
        (b"\x83M" + u32(1) + b"\x03\x80", "a bit string (BIT_BINARY_EXT) is not allowed"),
        (b"\x83R\x00", "an atom cache reference (ATOM_CACHE_REF) is not allowed"),
        (b"\x83c" + b"1.00000000000000000000e+00" + b"\x00" * 5, "a text float (FLOAT_EXT"),
        (b"\x83y" + b"\x00" * 8, "a local term (LOCAL_EXT) is not allowed"),
        (b"\x83\x01", "an unknown tag 1 is not allowed"),
        (b"\x83l" + u32(1) + b"a\x01" + b"a\x02", "an improper list (its tail is not []) is not allowed"),
        (b"\x83l" + u32(1) + b"h\x00" + b"j", "at byte 6: a tuple"),  # offsets point at the term
        # Erlang floats are finite; these bit patterns are not Erlang floats
        (b"\x83" + flt(math.inf), "inf is not an Erlang float"),
        (b"\x83" + flt(math.nan), "nan is not an Erlang float"),
        (b"\x83l" + u32(20) + flt(1.0) * 19 + flt(-math.inf) + b"j", "at byte 177: -inf is not an Erlang float"),
        (b"\x83P" + u32(2) + zlib.compress(b"h\x00"), "at inflated byte 0: a tuple"),
    ],
)
def test_hostile_and_truncated_inputs_are_refused(data: bytes, message: str) -> None:
    refused(data, message)


def test_nesting_is_bounded() -> None:
    depth = erlang_terms.MAX_DEPTH
    nested = (b"l" + u32(1)) * depth + b"j" + b"j" * depth
    assert decode_term(b"\x83" + nested) is not None
    deeper = (b"l" + u32(1)) * (depth + 1) + b"j" + b"j" * (depth + 1)
    refused(b"\x83" + deeper, f"lists nest more than {depth} deep")
    refused(b"\x83" + (b"l" + u32(1)) * 1_000_000, "lists nest more than")  # no recursion error, no hang


def test_element_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(erlang_terms, "MAX_ELEMENTS", 10)
    assert decode_term(b"\x83l" + u32(2) + b"k\x00\x04abcd" + b"k\x00\x04abcd" + b"j") == [list(b"abcd")] * 2
    refused(b"\x83l" + u32(2) + b"k\x00\x05abcde" + b"k\x00\x04abcd" + b"j", "more than 10 list elements")
    refused(b"\x83k\x00\x0b" + b"a" * 11, "more than 10 list elements")


# ---------------------------------------------------------------- round trips


def encode(term: Any) -> bytes:
    """What ``:erlang.term_to_binary/1`` (OTP 26+) writes for the subset's terms."""
    return b"\x83" + _encode(term)


def _encode(term: Any) -> bytes:
    if term is None or isinstance(term, bool):
        name = {None: b"nil", True: b"true", False: b"false"}[term]
        return b"w" + bytes([len(name)]) + name
    if isinstance(term, float):
        return flt(term)
    if isinstance(term, int):
        if 0 <= term <= 255:
            return b"a" + bytes([term])
        if -(2**31) <= term < 2**31:
            return b"b" + struct.pack(">i", term)
        digits = abs(term).to_bytes((abs(term).bit_length() + 7) // 8, "little")
        head = b"n" + bytes([len(digits)]) if len(digits) <= 255 else b"o" + u32(len(digits))
        return head + bytes([term < 0]) + digits
    if isinstance(term, bytes):
        return b"m" + u32(len(term)) + term
    if not term:
        return b"j"
    if len(term) <= 65535 and all(type(x) is int and 0 <= x <= 255 for x in term):
        return b"k" + struct.pack(">H", len(term)) + bytes(term)
    return b"l" + u32(len(term)) + b"".join(_encode(x) for x in term) + b"j"


scalars = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**1023), max_value=2**1023)
    | st.none()
    | st.booleans()
    | st.binary(max_size=20)
)
terms = st.recursive(scalars, lambda inner: st.lists(inner, max_size=30), max_leaves=200)


@given(terms)
def test_round_trip(term: Any) -> None:
    assert decode_term(encode(term)) == term


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_round_trip_of_0_4_1_embeddings(head: list[float]) -> None:
    values = (head * (1281 // len(head) + 1))[:1281]  # the smallest list 0.4.1 sends as Erlang terms
    assert decode_term(encode(values)) == values


@given(terms, st.data())
def test_every_truncation_is_refused(term: Any, data: st.DataObject) -> None:
    encoded = encode(term)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(InvalidArgument):
        decode_term(encoded[:cut])


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_are_refused_clearly(data: bytes) -> None:
    for candidate in (data, b"\x83" + data):
        try:
            decode_term(candidate)
        except InvalidArgument as exc:
            assert str(exc).startswith("Erlang term")
