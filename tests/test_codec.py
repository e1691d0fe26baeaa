"""Every Any form both Snakepit versions send, and the binary header."""

from __future__ import annotations

import json
import math

import pytest
from google.protobuf import struct_pb2, wrappers_pb2
from google.protobuf.any_pb2 import Any as AnyMessage
from hypothesis import given
from hypothesis import strategies as st

from snakepit_host import codec
from snakepit_host._errors import DecodeError, EncodeError


def snakepit_any(kind: str, value: object) -> AnyMessage:
    return AnyMessage(type_url=f"type.googleapis.com/snakepit.{kind}", value=json.dumps(value).encode())


@pytest.mark.parametrize(
    ("kind", "sent", "expected"),
    [
        ("boolean", True, True),
        ("integer", 42, 42),
        ("float", 1.5, 1.5),
        ("string", "hello", "hello"),
        ("embedding", [1.0, 2.0], [1.0, 2.0]),
        ("tensor", {"shape": [2], "data": [1.0, 2.0]}, {"shape": [2], "data": [1.0, 2.0]}),
        ("map", {"a": 1}, {"a": 1}),
        ("list", [1, "x"], [1, "x"]),
    ],
)
def test_snakepit_041_typed_values(kind: str, sent: object, expected: object) -> None:
    assert codec.decode_any(snakepit_any(kind, sent)) == expected


def test_041_special_floats() -> None:
    assert math.isnan(codec.decode_any(snakepit_any("float", "NaN")))
    assert codec.decode_any(snakepit_any("float", "Infinity")) == math.inf
    assert codec.decode_any(snakepit_any("float", "-Infinity")) == -math.inf


def test_041_double_encoded_maps_and_mixed_lists() -> None:
    # 0.4.1 sends maps and mixed lists as a JSON string that holds JSON.
    assert codec.decode_any(snakepit_any("string", json.dumps({"a": [1, 2]}))) == {"a": [1, 2]}
    assert codec.decode_any(snakepit_any("string", json.dumps([1, "b"]))) == [1, "b"]
    # Text that merely starts like JSON stays text.
    assert codec.decode_any(snakepit_any("string", "[not json")) == "[not json"


def test_013_string_value_url_with_plain_json() -> None:
    any_message = AnyMessage(type_url=codec.STRING_VALUE_URL, value=b'{"k": [1, 2.5, null]}')
    assert codec.decode_any(any_message) == {"k": [1, 2.5, None]}
    # No double-decoding on this path: a string that looks like JSON stays a string.
    text = AnyMessage(type_url=codec.STRING_VALUE_URL, value=json.dumps("[1,2]").encode())
    assert codec.decode_any(text) == "[1,2]"


def test_genuinely_packed_wrappers() -> None:
    packed = AnyMessage()
    packed.Pack(wrappers_pb2.StringValue(value="packed text"))
    assert codec.decode_any(packed) == "packed text"
    value = AnyMessage()
    value.Pack(struct_pb2.Value(number_value=3.0))
    assert codec.decode_any(value) == 3
    empty = AnyMessage()
    empty.Pack(wrappers_pb2.StringValue(value=""))
    assert codec.decode_any(empty) == ""


def test_empty_any_is_none() -> None:
    assert codec.decode_any(AnyMessage()) is None


@pytest.mark.parametrize(
    "message",
    [
        AnyMessage(type_url="type.googleapis.com/snakepit.integer", value=b"{not json"),
        AnyMessage(type_url="type.googleapis.com/snakepit.integer", value=b""),
        AnyMessage(type_url="type.googleapis.com/google.protobuf.Int64Value", value=b"\xff\xff\xff"),
        AnyMessage(type_url="", value=b"\x80\x81"),
    ],
)
def test_malformed_any_is_a_decode_error(message: AnyMessage) -> None:
    with pytest.raises(DecodeError):
        codec.decode_any(message)


def test_lenient_text_accepts_elixir_inspect_fallback() -> None:
    message = AnyMessage(type_url=codec.STRING_VALUE_URL, value=b"%{a: 1}")
    with pytest.raises(DecodeError):
        codec.decode_any(message)
    assert codec.decode_any(message, lenient_text=True) == "%{a: 1}"


def test_decode_parameters_names_the_bad_parameter() -> None:
    with pytest.raises(DecodeError, match="parameter 'bad'"):
        codec.decode_parameters({"ok": snakepit_any("integer", 1), "bad": AnyMessage(type_url="x/y", value=b"{")})


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "boolean"),
        (3, "integer"),
        (2.5, "float"),
        ("s", "string"),
        ([1], "list"),
        ({"a": 1}, "map"),
        (None, "map"),
    ],
)
def test_encode_type_urls(value: object, kind: str) -> None:
    message = codec.encode_any(value)
    assert message.type_url == f"type.googleapis.com/snakepit.{kind}"
    assert json.loads(message.value) == value


def test_encode_non_finite_floats_as_snakepit_strings() -> None:
    message = codec.encode_any({"x": [math.nan, math.inf, -math.inf, 1.0]})
    assert json.loads(message.value) == {"x": ["NaN", "Infinity", "-Infinity", 1.0]}


def test_encode_well_known_objects() -> None:
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    value = {"when": datetime.date(2026, 1, 2), "p": Point(1, 2), "t": (1, 2), "s": {3}}
    assert json.loads(codec.encode_any(value).value) == {
        "when": "2026-01-02",
        "p": {"x": 1, "y": 2},
        "t": [1, 2],
        "s": [3],
    }


def test_encode_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(EncodeError, match="not JSON-serializable"):
        codec.encode_any({"x": object()})
    with pytest.raises(EncodeError, match="bytes nested"):
        codec.encode_any({"x": b"raw"})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_encode_decode_round_trip(value: object) -> None:
    assert codec.decode_any(codec.encode_any(value)) == value
    assert codec.decode_any(codec.encode_json_any(value)) == value


# ---------------------------------------------------------------- binary


def test_raw_bytes_pass_through_unchanged() -> None:
    data = bytes(range(256)) * 4
    assert codec.pack_binary(data) is data
    assert codec.unpack_binary(data) == data


def test_typed_buffer_round_trip_with_numpy() -> None:
    numpy = pytest.importorskip("numpy")
    array = numpy.arange(12, dtype=numpy.float32).reshape(3, 4)
    packed = codec.pack_binary(codec.TypedBuffer.from_array(array))
    unpacked = codec.unpack_binary(packed)
    assert isinstance(unpacked, codec.TypedBuffer)
    assert (unpacked.dtype, unpacked.shape) == ("float32", (3, 4))
    assert numpy.array_equal(unpacked.to_numpy(), array)


def test_big_endian_arrays_are_sent_little_endian() -> None:
    numpy = pytest.importorskip("numpy")
    array = numpy.arange(5, dtype=">i4")
    unpacked = codec.unpack_binary(codec.pack_binary(codec.TypedBuffer.from_array(array)))
    assert isinstance(unpacked, codec.TypedBuffer)
    assert unpacked.to_numpy().tolist() == [0, 1, 2, 3, 4]


def _with_header(header: bytes, data: bytes, version: int = 1, length: int | None = None) -> bytes:
    import struct

    return struct.pack("<4sBI", b"SPKB", version, len(header) if length is None else length) + header + data


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_with_header(b'{"dtype":"float32","shape":[4]}', b"\0" * 12), "says 16 bytes"),
        (_with_header(b'{"dtype":"float32","shape":[4]}', b"\0" * 16, length=10_000), "claims 10000 bytes"),
        (_with_header(b'{"dtype":"object","shape":[1]}', b"\0"), "unsupported dtype"),
        (_with_header(b'{"dtype":"uint8","shape":[-1]}', b""), "invalid dtype or shape"),
        (_with_header(b"not json", b""), "not valid JSON"),
        (_with_header(b'{"dtype":"uint8","shape":[1]}', b"\0", version=9), "version 9"),
        (b"SPKB\x01", "too short"),
    ],
)
def test_binary_headers_that_lie_are_refused(payload: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        codec.unpack_binary(payload)


def test_large_arrays_become_binary_results_small_ones_json() -> None:
    numpy = pytest.importorskip("numpy")
    assert codec.as_binary(numpy.zeros(4)) is None
    big = codec.as_binary(numpy.zeros(10_000, dtype=numpy.float64))
    assert isinstance(big, codec.TypedBuffer) and big.shape == (10_000,)
    assert codec.as_binary(bytearray(b"ab")) == b"ab"
