"""Values as Snakepit's own Python server puts them on the wire, per version.

The host encodes whatever a handler returns as ``snakepit.<type>`` + JSON,
which both Snakepit versions decode. These functions first turn an adapter's
return value (or stream item) into exactly the value Snakepit's server would
have encoded, so Elixir code written against Snakepit's worker sees the same
thing (PROTOCOL.md §4.1, notes §4.2-4.3):

* The top-level type decides. ``bool``, ``str``, ``dict`` and ``list`` stay;
  ``int`` stays an integer for 0.4.1 but becomes a float for 0.13; anything
  else (``None``, tuples, bytes, numpy scalars, objects) becomes ``str(value)``.
* Inside dicts and lists 0.4.1 uses plain :mod:`json`: anything it cannot
  encode fails the call, with json's own message. 0.13 uses its lenient
  encoder: ``model_dump()``, ``to_dict()``, ``_asdict()``, ``tolist()`` (up
  to ``SNAKEPIT_TOLIST_MAX_ELEMENTS`` elements), ``isoformat()``, else a
  marker ``{"__ffi_unserializable__": true, "__type__": "module.Class"}``
  (``SNAKEPIT_UNSERIALIZABLE_DETAIL`` adds a ``__repr__``). It runs through
  orjson when orjson is importable, as Snakepit's does, so the same values
  differ in the same places (NaN becomes null, integer keys fail).

A non-finite float is sent as the string Snakepit uses (``"NaN"``), where
Snakepit's stdlib path would emit an invalid JSON token.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any

STREAMING_ON_UNARY = {"error": "Streaming tool called on non-streaming endpoint."}
"""What both Snakepit servers answer (``success=true``) when a unary call returns a generator."""

TOLIST_MAX_DEFAULT = 1_000_000
REPR_MAX_DEFAULT = 500
REPR_MAX_LIMIT = 2000
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1

_REDACTIONS = (
    (re.compile(r"(?i)(bearer\s+)[\w\-.~+/]+=*"), r"\1<REDACTED>"),
    (re.compile(r"\bsk-[A-Za-z0-9]{10,}\b"), "sk-<REDACTED>"),
    (
        re.compile(r"""(?i)(["']?(?:api[_-]?key|token|secret|password)["']?\s*[:=]\s*)(["'])[^"']*\2"""),
        r"\1\2<REDACTED>\2",
    ),
)


# ---------------------------------------------------------------- results


def result_v04(value: Any) -> Any:
    """Snakepit 0.4.1: ``TypeValidator.infer_type`` then ``TypeSerializer.encode_any``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (dict, list)):
        return value if _plain(value) else json.loads(json.dumps(value))
    return str(value)


def result_v013(value: Any) -> Any:
    """Snakepit 0.13: its inline type choice, then ``TypeSerializer.encode_any``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (dict, list)):
        return lenient(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        return float(value)  # OverflowError for a huge int, as there
    to_payload = getattr(value, "to_payload", None)
    if type(value).__name__ == "ZeroCopyRef" and callable(to_payload):
        return lenient(to_payload())
    return str(value)


def lenient(value: Any) -> Any:
    """A dict or list as 0.13's lenient JSON encoder writes it, read back."""
    if _plain(value):
        return value
    orjson = _orjson()
    if orjson is not None:
        return orjson.loads(orjson.dumps(value, default=lenient_default))
    return json.loads(json.dumps(value, default=lenient_default))


def _plain(value: dict[Any, Any] | list[Any]) -> bool:
    """A flat dict or list of JSON scalars that every encoder writes alike (the common, fast case)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain_scalar(v) for k, v in value.items())
    return all(_plain_scalar(v) for v in value)


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(_INT64_MIN <= value <= _UINT64_MAX)
    return kind is float and math.isfinite(value)


@cache
def _orjson() -> Any:
    if importlib.util.find_spec("orjson") is None:
        return None
    import orjson

    return orjson


def lenient_default(obj: Any) -> Any:
    """0.13's fallback for an object JSON cannot encode (``GracefulJSONEncoder.default``)."""
    for method in ("model_dump", "to_dict", "_asdict"):
        converted = _try(obj, method)
        if converted is not _FAILED:
            return converted
    if hasattr(obj, "tolist") and _tolist_allowed(obj):
        try:
            listed = obj.tolist()
        except Exception:  # MemoryError included: fall through to the next conversion
            listed = _FAILED
        if listed is not _FAILED and not (isinstance(listed, list) and _count(listed) > _tolist_max()):
            return listed
    converted = _try(obj, "isoformat")
    if converted is not _FAILED:
        return converted
    return unserializable_marker(obj)


_FAILED = object()


def _try(obj: Any, method: str) -> Any:
    function = getattr(obj, method, None)
    if function is None:
        return _FAILED
    try:
        return function()
    except Exception:
        return _FAILED


def _tolist_max() -> int:
    try:
        return max(0, int(os.environ.get("SNAKEPIT_TOLIST_MAX_ELEMENTS", TOLIST_MAX_DEFAULT)))
    except ValueError:
        return TOLIST_MAX_DEFAULT


def _tolist_allowed(obj: Any) -> bool:
    """Refuse before allocating when the size is knowable (arrays, sparse matrices, frames)."""
    limit = _tolist_max()
    try:
        if hasattr(obj, "nnz") and hasattr(obj, "shape"):
            return math.prod(int(n) for n in obj.shape) <= limit
        if hasattr(obj, "size") and (hasattr(obj, "dtype") or hasattr(obj, "values")):
            return int(obj.size) <= limit
    except Exception:
        pass
    return True


def _count(items: list[Any]) -> int:
    """Leaf elements of a nested list, stopping once over the limit."""
    limit, count, stack = _tolist_max(), 0, [items]
    while stack and count <= limit:
        for element in stack.pop():
            if isinstance(element, list):
                stack.append(element)
            else:
                count += 1
    return count


def unserializable_marker(obj: Any) -> dict[str, Any]:
    kind = f"{type(obj).__module__}.{type(obj).__name__}"
    marker: dict[str, Any] = {"__ffi_unserializable__": True, "__type__": kind}
    detail = os.environ.get("SNAKEPIT_UNSERIALIZABLE_DETAIL", "none").strip().lower()
    if detail == "type":
        marker["__repr__"] = f"<unserializable {kind}>"
    elif detail in ("repr_truncated", "repr_redacted_truncated"):
        try:
            text = repr(obj)
        except Exception:
            text = f"<repr failed for {kind}>"
        if detail == "repr_redacted_truncated":
            for pattern, replacement in _REDACTIONS:
                text = pattern.sub(replacement, text)
        marker["__repr__"] = text[: _repr_max()]
    return marker


def _repr_max() -> int:
    try:
        return max(0, min(int(os.environ.get("SNAKEPIT_UNSERIALIZABLE_REPR_MAXLEN", REPR_MAX_DEFAULT)), REPR_MAX_LIMIT))
    except ValueError:
        return REPR_MAX_DEFAULT


# ---------------------------------------------------------------- stream items


def chunk_v04(item: Any, stream_chunk_class: type | None) -> bytes:
    """0.4.1: the JSON of the item, or of ``.data`` for Snakepit's own ``StreamChunk`` (nothing else)."""
    payload = (
        getattr(item, "data", None) if stream_chunk_class is not None and isinstance(item, stream_chunk_class) else item
    )
    return json.dumps(payload).encode()


def chunk_v013(item: Any) -> tuple[bytes, bool, dict[str, str]]:
    """0.13: ``.data`` / ``.is_final`` / ``.metadata`` by duck typing; strings and bytes raw, the rest JSON."""
    payload = item.data if hasattr(item, "data") else item
    final = bool(item.is_final) if hasattr(item, "is_final") else False
    metadata = getattr(item, "metadata", None)
    meta = {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}
    if payload is None:
        data = b""
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        data = bytes(payload)
    elif isinstance(payload, str):
        data = payload.encode()
    else:
        data = json.dumps(payload).encode()
    return data, final, meta


ResultEncoder = Callable[[Any], Any]
