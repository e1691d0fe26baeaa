"""Values as Snakepit's servers encode them (facts in the project notes, §4.2-4.3 and §6)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import uuid
from typing import Any, NamedTuple

import numpy
import pytest
from snakepit_adapters import encoding
from snakepit_adapters.encoding import chunk_v013, chunk_v04, lenient, result_v013, result_v04


class Opaque:
    pass


@dataclasses.dataclass
class Point:
    x: int


class Secretive:
    def __repr__(self) -> str:
        return "Client(api_key='abc123', auth='Authorization: Bearer tok.en', key=sk-ABCDEFGHIJKL)"


@pytest.mark.parametrize(
    ("value", "v04", "v013"),
    [
        (True, True, True),
        (5, 5, 5.0),
        (2.5, 2.5, 2.5),
        ("hi", "hi", "hi"),
        (None, "None", "None"),
        ((1, 2), "(1, 2)", "(1, 2)"),
        (b"ab", "b'ab'", "b'ab'"),
        (numpy.int64(3), "3", "3"),
        (numpy.float64(1.5), 1.5, 1.5),
        ({"a": (1, 2)}, {"a": [1, 2]}, {"a": [1, 2]}),
        ([1, "x", None], [1, "x", None], [1, "x", None]),
    ],
)
def test_top_level_values(value: Any, v04: Any, v013: Any) -> None:
    assert result_v04(value) == v04 and type(result_v04(value)) is type(v04)
    assert result_v013(value) == v013 and type(result_v013(value)) is type(v013)


def test_041_fails_where_plain_json_fails() -> None:
    with pytest.raises(TypeError, match="Object of type int64 is not JSON serializable"):
        result_v04({"n": numpy.int64(3)})
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        result_v04({"tags": {"a"}})
    assert result_v04({1: "a"}) == {"1": "a"}


class Pair(NamedTuple):
    a: int
    b: int


def test_013_converts_what_it_can_and_marks_the_rest() -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9)
    pair = Pair(1, 2)
    converted = lenient(
        {"array": numpy.arange(3), "scalar": numpy.int64(4), "when": when, "pair": pair, "opaque": Opaque()}
    )
    assert converted["array"] == [0, 1, 2] and converted["scalar"] == 4
    assert converted["when"] == "2024-05-06T07:08:09"
    # stdlib json writes a namedtuple as the tuple it is; orjson asks the fallback, which uses _asdict.
    assert converted["pair"] == ({"a": 1, "b": 2} if encoding._orjson() is not None else [1, 2])
    assert converted["opaque"] == {"__ffi_unserializable__": True, "__type__": f"{__name__}.Opaque"}


def test_013_follows_orjson_when_it_is_installed() -> None:
    with_orjson = encoding._orjson() is not None
    values = lenient({"nan": math.nan, "point": Point(1), "id": uuid.UUID(int=1), "tags": {"a"}})
    assert values["tags"]["__ffi_unserializable__"] is True
    if with_orjson:
        assert values["nan"] is None and values["point"] == {"x": 1}
        assert values["id"] == "00000000-0000-0000-0000-000000000001"
        with pytest.raises(TypeError, match="Dict key must be str"):
            lenient({1: "a", "b": [object()]})
    else:
        assert math.isnan(values["nan"]) and values["point"]["__ffi_unserializable__"] is True


def test_013_turns_an_integer_too_big_for_a_float_into_an_error() -> None:
    with pytest.raises(OverflowError):
        result_v013(10**400)


def test_marker_detail_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "__repr__" not in encoding.unserializable_marker(Secretive())
    monkeypatch.setenv("SNAKEPIT_UNSERIALIZABLE_DETAIL", "type")
    assert encoding.unserializable_marker(Secretive())["__repr__"] == f"<unserializable {__name__}.Secretive>"
    monkeypatch.setenv("SNAKEPIT_UNSERIALIZABLE_DETAIL", "repr_redacted_truncated")
    assert encoding.unserializable_marker(Secretive())["__repr__"] == (
        "Client(api_key='<REDACTED>', auth='Authorization: Bearer <REDACTED>', key=sk-<REDACTED>)"
    )
    monkeypatch.setenv("SNAKEPIT_UNSERIALIZABLE_DETAIL", "repr_truncated")
    monkeypatch.setenv("SNAKEPIT_UNSERIALIZABLE_REPR_MAXLEN", "6")
    assert encoding.unserializable_marker(Secretive())["__repr__"] == "Client"
    monkeypatch.setenv("SNAKEPIT_UNSERIALIZABLE_REPR_MAXLEN", "not a number")
    assert len(encoding.unserializable_marker(Secretive())["__repr__"]) == len(repr(Secretive()))


def test_tolist_is_refused_above_the_element_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_TOLIST_MAX_ELEMENTS", "4")
    converted = lenient({"small": numpy.zeros(4), "big": numpy.zeros(5)})
    assert converted["small"] == [0.0] * 4
    assert converted["big"] == {"__ffi_unserializable__": True, "__type__": "numpy.ndarray"}


def test_nested_nan_is_sent_as_snakepits_string() -> None:
    assert math.isnan(result_v04({"x": math.nan})["x"]), 'the host\'s encoder then writes it as "NaN"'


class Chunk:
    def __init__(self, data: Any, is_final: bool = False, metadata: Any = None) -> None:
        self.data, self.is_final, self.metadata = data, is_final, metadata


def test_stream_items_041() -> None:
    assert chunk_v04("word", None) == b'"word"'
    assert chunk_v04({"a": 1}, None) == b'{"a": 1}'
    assert chunk_v04(Chunk({"a": 1}), Chunk) == b'{"a": 1}'
    with pytest.raises(TypeError):
        chunk_v04(Chunk({"a": 1}), None), "only Snakepit's own StreamChunk is unwrapped"


def test_stream_items_013() -> None:
    assert chunk_v013("word") == (b"word", False, {})
    assert chunk_v013(b"\x00raw") == (b"\x00raw", False, {})
    assert chunk_v013(None) == (b"", False, {})
    assert chunk_v013(Chunk({"a": 1}, True, {"n": 1})) == (b'{"a": 1}', True, {"n": "1"})
    assert json.loads(chunk_v013([1, 2])[0]) == [1, 2]
    with pytest.raises(TypeError):
        chunk_v013(object())
