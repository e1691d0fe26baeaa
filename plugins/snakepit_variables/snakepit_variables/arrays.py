"""The ``embedding`` and ``tensor`` types: numpy arrays, stored once.

numpy is imported inside the methods, so registering these types (and
serving every other type) costs nothing until an array value is touched.

A stored array is read-only and is a view into one bytes object laid out as
the host codec's binary payload (``SPKB`` header + raw little-endian data).
That one allocation serves every reader (they get the same read-only
array, never a copy) and every RPC reply (the payload is sent as it is).
An array that arrives in that layout from the wire is kept without a copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from snakepit_host import InvalidArgument, TypedBuffer, codec
from snakepit_variables import constraints as c
from snakepit_variables.binary_forms import FORMAT_KEY, SPKB
from snakepit_variables.value_types import BaseType

MAX_EXACT_INTEGER = 2**53
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_NORM_TOLERANCE = {"float16": 1e-2, "float32": 1e-4, "float64": 1e-9}


def _np() -> Any:
    import numpy

    return numpy


def spkb_payload(array: Any) -> bytes | None:
    """The SPKB bytes ``array`` is an exact view of, or None (then it must be copied to be stored)."""
    np = _np()
    owner = array.base
    while isinstance(owner, np.ndarray):
        owner = owner.base
    if isinstance(owner, memoryview):
        owner = owner.obj
    if not isinstance(owner, bytes) or not owner.startswith(codec.BINARY_MAGIC) or not array.flags.c_contiguous:
        return None
    start = array.__array_interface__["data"][0]
    owner_start = np.frombuffer(owner, dtype=np.uint8).__array_interface__["data"][0]
    if start - owner_start != len(owner) - array.nbytes:
        return None
    header = codec.unpack_binary(owner)
    if not isinstance(header, TypedBuffer) or header.shape != array.shape or header.dtype != array.dtype.name:
        return None
    return owner


def frozen(array: Any) -> Any:
    """A read-only array backed by an SPKB payload: ``array`` itself when it already is one."""
    if spkb_payload(array) is not None:
        return array
    buffer = codec.unpack_binary(codec.pack_binary(TypedBuffer.from_array(array)))
    assert isinstance(buffer, TypedBuffer)
    return buffer.to_numpy()


def array_from_wire(data: Any, binary: bytes | None, kind: str) -> Any:
    """The array a binary payload carries; ``data`` (the JSON beside it) may state the shape too."""
    if binary is None:
        return data
    if not binary.startswith(codec.BINARY_MAGIC):
        raise InvalidArgument(
            f"{kind} bytes are not in the SPKB format (raw little-endian data with a dtype/shape header); "
            'for bare data say "binary_format": "raw" with its dtype, shape and byte_order'
        )
    buffer = codec.unpack_binary(binary)
    assert isinstance(buffer, TypedBuffer)
    stated = data.get("shape") if isinstance(data, Mapping) else None
    if stated is not None and list(stated) != list(buffer.shape):
        raise InvalidArgument(f"{kind} binary header has shape {list(buffer.shape)} but the value says {stated}")
    return buffer.to_numpy()


def _from_numbers(values: Sequence[Any], what: str) -> Any:
    np = _np()
    numbers: list[float | int] = []
    for index, item in enumerate(values):
        if isinstance(item, str) and item in _NON_FINITE:
            item = _NON_FINITE[item]
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise InvalidArgument(f"{what} element {index} is {type(item).__name__} {item!r}, not a number")
        if isinstance(item, int) and abs(item) > MAX_EXACT_INTEGER:
            raise InvalidArgument(f"{what} element {index} ({item}) cannot be represented exactly as a float")
        numbers.append(item)
    return np.array(numbers, dtype=np.float64)


def _numeric(array: Any, what: str) -> Any:
    if array.dtype.name not in codec.DTYPE_SIZES or array.dtype.kind == "c":
        raise InvalidArgument(f"{what} elements must be real numbers, got dtype {array.dtype}")
    return array


def _convert(array: Any, dtype: str, what: str) -> Any:
    """``array`` as ``dtype`` when no element changes; otherwise refused."""
    np = _np()
    if array.dtype.name == dtype:
        return array
    converted = array.astype(dtype)
    if not np.array_equal(converted.astype(array.dtype), array, equal_nan=array.dtype.kind == "f"):
        raise InvalidArgument(f"{what} of dtype {array.dtype} does not convert to dtype {dtype} without loss")
    return converted


def _check_elements(array: Any, constraints: Mapping[str, Any], what: str) -> None:
    np = _np()
    for rule, low, high in c.bounds(constraints):
        if array.size == 0:
            return
        bad = ~((array >= low) & (array <= high))
        if bad.any():
            flat_index = int(np.argmax(bad.reshape(-1)))
            value = float(array.reshape(-1)[flat_index])
            message = c.bound_failure(value, rule, low, high, what=f"{what} element {flat_index} ({value!r})")
            raise InvalidArgument(message or f"{what} element {flat_index} breaks {rule}")


def _wire(array: Any, kind: str, small: Callable[[Any], Any]) -> tuple[Any, bytes | None]:
    if array.nbytes < codec.ARRAY_BINARY_THRESHOLD:
        return small(array), None
    payload = spkb_payload(array) or codec.pack_binary(TypedBuffer.from_array(array))
    meta = {"shape": list(array.shape), "dtype": array.dtype.name, FORMAT_KEY: SPKB, "type": kind}
    return meta, payload


def _plain(array: Any) -> list[Any]:
    """Elements as JSON numbers (non-finite ones as Snakepit's strings)."""
    values: list[Any] = array.reshape(-1).tolist()
    if array.dtype.kind == "f":
        values = [
            v if math.isfinite(v) else ("NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity")
            for v in values
        ]
    return values


class EmbeddingType(BaseType):
    name = "embedding"
    description = "A vector of floats (numpy 1-D array); JSON list on the wire, SPKB bytes when large"
    python_type = "numpy.ndarray"
    wire_form = (
        f"JSON list, or binary (SPKB, or raw if metadata asks) at {codec.ARRAY_BINARY_THRESHOLD} bytes and above"
    )
    keys = (c.DIMENSIONS, c.FLOAT_DTYPE, c.NORM, *c.ELEMENT_BOUNDS)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Any:
        np = _np()
        if isinstance(value, TypedBuffer):
            value = value.to_numpy()
        if isinstance(value, (list, tuple)):
            array = _from_numbers(value, "embedding")
        elif isinstance(value, np.ndarray):
            array = _numeric(value, "embedding")
            if array.dtype.kind != "f":
                array = _convert(array, "float64", "embedding")
        else:
            raise self._refuse(value, "a list of numbers or a 1-D array")
        if array.ndim != 1:
            raise InvalidArgument(f"an embedding is 1-D, got shape {list(array.shape)}")
        if "dtype" in constraints:
            array = _convert(array, constraints["dtype"], "embedding")
        dimensions = constraints.get("dimensions")
        if dimensions is not None and array.shape[0] != dimensions:
            raise InvalidArgument(f"embedding has {array.shape[0]} dimensions; dimensions requires {dimensions}")
        _check_elements(array, constraints, "embedding")
        if "norm" in constraints:
            _check_norm(array, constraints["norm"])
        return frozen(array)

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        return _wire(value, self.name, self.to_json)

    def to_json(self, value: Any) -> Any:
        return _plain(value)

    def from_wire(self, data: Any, binary: bytes | None) -> Any:
        return array_from_wire(data, binary, self.name)


class TensorType(BaseType):
    name = "tensor"
    description = 'An n-dimensional numeric array (numpy); {"shape", "data"} JSON on the wire, SPKB bytes when large'
    python_type = "numpy.ndarray"
    wire_form = (
        f'JSON {{"shape", "data", "dtype"}}, or binary (SPKB, or raw if metadata asks) '
        f"at {codec.ARRAY_BINARY_THRESHOLD} bytes and above"
    )
    keys = (c.SHAPE, c.ANY_DTYPE, *c.ELEMENT_BOUNDS)

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Any:
        np = _np()
        if isinstance(value, TypedBuffer):
            value = value.to_numpy()
        if isinstance(value, Mapping):
            array = _from_mapping(value)
        elif isinstance(value, np.ndarray):
            array = _numeric(value, "tensor")
        elif isinstance(value, (list, tuple)):
            array = _numeric(_nested(value), "tensor")
        else:
            raise self._refuse(value, 'a numpy array or {"shape": [...], "data": [...]}')
        if "dtype" in constraints:
            array = _convert(array, constraints["dtype"], "tensor")
        shape = constraints.get("shape")
        if shape is not None and (
            len(shape) != array.ndim
            or any(want is not None and want != got for want, got in zip(shape, array.shape, strict=True))
        ):
            shown = ["*" if d is None else d for d in shape]
            raise InvalidArgument(f"tensor shape {list(array.shape)} does not match shape {shown}")
        _check_elements(array, constraints, "tensor")
        return frozen(array)

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        return _wire(value, self.name, self.to_json)

    def to_json(self, value: Any) -> Any:
        return {"shape": list(value.shape), "data": _plain(value), "dtype": value.dtype.name}

    def from_wire(self, data: Any, binary: bytes | None) -> Any:
        return array_from_wire(data, binary, self.name)


def _nested(value: Sequence[Any]) -> Any:
    np = _np()
    try:
        return np.array(value)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(f"tensor data is not a regular nested list of numbers: {exc}") from None


def _from_mapping(value: Mapping[str, Any]) -> Any:
    """Snakepit 0.4's tensor form: {"shape": [...], "data": [...] (flat or nested), "dtype"?}."""
    np = _np()
    if "shape" not in value or "data" not in value:
        raise InvalidArgument(f'a tensor object needs "shape" and "data", got keys {sorted(value)}')
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise InvalidArgument(f"tensor shape must be a list of non-negative integers, got {shape!r}")
    data = value["data"]
    if not isinstance(data, list):
        raise InvalidArgument(f"tensor data must be a list, got {type(data).__name__}")
    flat = _nested(data).reshape(-1) if data and isinstance(data[0], list) else _from_list(data)
    needed = math.prod(shape)
    if flat.size != needed:
        raise InvalidArgument(f"tensor data has {flat.size} elements but shape {shape} needs {needed}")
    array = _numeric(flat, "tensor").reshape(shape)
    dtype = value.get("dtype")
    if dtype is not None:
        if dtype not in codec.DTYPE_SIZES:
            raise InvalidArgument(f"tensor dtype {dtype!r} is not one of {', '.join(codec.DTYPE_SIZES)}")
        array = _convert(array, dtype, "tensor")
    return np.ascontiguousarray(array)


def _from_list(data: list[Any]) -> Any:
    np = _np()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in data):
        try:
            return np.array(data, dtype=np.int64) if data else np.array([], dtype=np.float64)
        except OverflowError:
            raise InvalidArgument("tensor data has an integer outside the int64 range") from None
    return _from_numbers(data, "tensor data")


def _check_norm(array: Any, norm: str) -> None:
    np = _np()
    wide = array.astype(np.float64)
    length = float(np.abs(wide).sum()) if norm == "l1" else float(math.sqrt(float(np.dot(wide, wide))))
    tolerance = _NORM_TOLERANCE.get(array.dtype.name, 1e-9)
    if not math.isclose(length, 1.0, rel_tol=tolerance, abs_tol=tolerance):
        measure = "sum of |x|" if norm == "l1" else "length"
        raise InvalidArgument(f"embedding {measure} is {length:.6g}; norm {norm} requires 1")
