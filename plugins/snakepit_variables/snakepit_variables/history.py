"""What history keeps: bounded by versions (``--variables-history``) and by bytes.

Every store applies the same rules, so a variable's history reads the same
whichever store holds it: a version whose value is larger than
:data:`HISTORY_VALUE_BYTES` keeps only its metadata, and the values kept for
one variable add up to at most :data:`HISTORY_VARIABLE_BYTES` (older
versions beyond that keep only their metadata). Without the byte bound, a
few large writes multiply a worker's memory by the history length.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from snakepit_variables.model import HistoryEntry, Variable

HISTORY_VALUE_BYTES = 1024 * 1024
"""History keeps the values of versions up to this size; larger ones keep only their metadata."""
HISTORY_VARIABLE_BYTES = 4 * 1024 * 1024
"""The values kept in one variable's history add up to at most this many bytes."""
SCALAR_BYTES = 8


def value_size(value: Any) -> int:
    """About how many bytes ``value`` takes (exact for arrays, bytes and ASCII text)."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, dict)):
        return len(json.dumps(value, separators=(",", ":")))
    return SCALAR_BYTES


def history_entry(variable: Variable, metadata: Mapping[str, str], size: int | None = None) -> HistoryEntry:
    """The history entry of one version; its value is kept only when it is small enough."""
    size = value_size(variable.value) if size is None else size
    kept = size <= HISTORY_VALUE_BYTES
    return HistoryEntry(
        version=variable.version,
        value=variable.value if kept else None,
        timestamp=variable.updated_at,
        source=variable.source,
        metadata=dict(metadata),
        value_kept=kept,
        size=size,
    )


def within_budget(entries: Iterable[HistoryEntry]) -> list[HistoryEntry]:
    """Entries (oldest first) with the values of the oldest dropped once the kept ones pass the byte bound."""
    ordered = list(entries)
    total = 0
    for index in range(len(ordered) - 1, -1, -1):
        entry = ordered[index]
        if not entry.value_kept:
            continue
        total += entry.size
        if total > HISTORY_VARIABLE_BYTES:
            ordered[index] = forgotten(entry)
    return ordered


def forgotten(entry: HistoryEntry) -> HistoryEntry:
    return replace(entry, value=None, value_kept=False)
