"""The value types on their own: the host's protocol, lossless coercions, wire forms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakepit_variables.arrays import EmbeddingType, TensorType, spkb_payload
from snakepit_variables.value_types import SCALAR_TYPES, FloatType, IntegerType, json_copy

from snakepit_host._errors import InvalidArgument
from snakepit_host._value_types import ValueType
from snakepit_host.codec import ARRAY_BINARY_THRESHOLD

ALL_TYPES = [cls() for cls in (*SCALAR_TYPES, EmbeddingType, TensorType)]


@pytest.mark.parametrize("value_type", ALL_TYPES, ids=lambda t: t.name)
def test_every_type_fulfils_the_host_protocol_and_describes_itself(value_type: Any) -> None:
    assert isinstance(value_type, ValueType)
    info = value_type.describe()
    assert info["description"] and info["python_type"]
    schema = value_type.constraint_schema()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    for key, spec in schema["properties"].items():
        assert spec["description"], key


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_exact_integers_become_floats_and_back(number: int) -> None:
    as_float = FloatType().validate(number, {})
    assert as_float == number and IntegerType().validate(as_float, {}) == number


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
def test_fractional_floats_are_never_integers(number: float) -> None:
    with pytest.raises(InvalidArgument, match="is not a whole number"):
        IntegerType().validate(number, {})


def test_float_wire_form_uses_snakepits_non_finite_strings() -> None:
    float_type = FloatType()
    assert [float_type.to_wire(v)[0] for v in (math.inf, -math.inf, 1.5)] == ["Infinity", "-Infinity", 1.5]
    assert math.isnan(float_type.validate("NaN", {}))


def test_bools_are_not_numbers() -> None:
    for value_type in (FloatType(), IntegerType()):
        with pytest.raises(InvalidArgument, match="got bool True"):
            value_type.validate(True, {})


def test_json_copy_refuses_lossy_or_foreign_values() -> None:
    assert json_copy({"a": (1, 2)}) == {"a": [1, 2]}
    with pytest.raises(InvalidArgument, match=r"value has key 1; JSON object keys must be strings"):
        json_copy({1: "a"})
    with pytest.raises(InvalidArgument, match=r"value\['x'\]\[0\] is a set"):
        json_copy({"x": [{1}]})
    with pytest.raises(InvalidArgument, match="which JSON cannot carry"):
        json_copy([math.nan])


def test_arrays_switch_to_binary_at_the_threshold() -> None:
    tensor = TensorType()
    small = tensor.validate(np.zeros(ARRAY_BINARY_THRESHOLD // 8 - 1), {})
    large = tensor.validate(np.zeros(ARRAY_BINARY_THRESHOLD // 8), {})
    assert tensor.to_wire(small)[1] is None
    meta, payload = tensor.to_wire(large)
    assert meta["binary_format"] == "spkb" and payload is spkb_payload(large)  # sent as stored, not re-packed
    assert np.array_equal(tensor.from_wire(meta, payload), large)


def test_stored_arrays_keep_their_float_dtype_and_convert_ints_losslessly() -> None:
    embedding = EmbeddingType()
    assert embedding.validate(np.ones(3, dtype=np.float32), {}).dtype == np.float32
    assert embedding.validate(np.arange(3), {}).dtype == np.float64
    assert embedding.validate([1, 2], {"dtype": "float32"}).dtype == np.float32
    with pytest.raises(InvalidArgument, match="an embedding is 1-D, got shape"):
        embedding.validate(np.ones((2, 2)), {})
    with pytest.raises(InvalidArgument, match="elements must be real numbers"):
        embedding.validate(np.ones(2, dtype=np.complex64), {})


def test_tensor_shape_wildcards() -> None:
    tensor = TensorType()
    constraints = tensor.check_constraints({"shape": [-1, 3]})
    assert constraints == {"shape": [None, 3]}
    assert tensor.validate(np.zeros((5, 3)), constraints).shape == (5, 3)
    with pytest.raises(InvalidArgument, match=r"tensor shape \[5, 4\] does not match shape \['\*', 3\]"):
        tensor.validate(np.zeros((5, 4)), constraints)


def test_every_registered_type_name_is_served_by_its_class() -> None:
    import importlib

    from snakepit_variables.catalog import TYPES

    for name, ref in TYPES.items():
        module, _, attribute = ref.partition(":")
        served = getattr(importlib.import_module(module), attribute).name
        assert served == name or (name, served) == ("map", "dict"), ref
