"""Storage backends: the small interface, and the default in-memory store.

A store keeps :class:`~snakepit_variables.model.Variable` records per
session and owns their ids and versions. It does not validate values (the
session manager does that before committing, with the registered types),
so a backend only has to be a faithful, thread-safe table with an atomic,
version-checked commit. Other plugins add backends through the
``register_variable_stores`` hook (see :mod:`snakepit_variables.hookspecs`).
"""

from __future__ import annotations

import abc
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from snakepit_host import AlreadyExists, Conflict, NotFound
from snakepit_variables.model import ChangeEvent, HistoryEntry, Variable, Write

ExternalChange = Callable[[str, ChangeEvent], None]
LogGap = Callable[[str], None]
VariableList = list[Variable]  # (the stores' ``list`` method shadows the builtin in class bodies)
EntryList = list[HistoryEntry]


def name_matcher(pattern: str | None) -> Callable[[str], bool]:
    """Snakepit 0.4's ListVariables rule: ``*`` is any text, the rest literal, matched anywhere in the name.

    (Elixir compiles the pattern as a regular expression after turning ``*``
    into ``.*``; other regex characters are taken literally here, which also
    keeps a request from running an arbitrary regular expression.)
    """
    if not pattern:
        return lambda name: True
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
    return lambda name: regex.search(name) is not None


class VariableStore(abc.ABC):
    """Where a host's session variables live. Implementations must be thread-safe.

    ``create`` assigns the id and version 0; every committed write adds 1.
    """

    name: ClassVar[str] = ""
    changes_elsewhere: ClassVar[bool] = False
    """True when variables can change outside this process; watchers then poll :meth:`list`."""
    logs_changes: ClassVar[bool] = False
    """True when the store keeps history and a log of changes itself, shared by every worker using it.

    Session variables then keep no history of their own and notify no
    watcher of their own writes: :meth:`follow` delivers every change, this
    process's included, in commit order (see :mod:`snakepit_variables.shared_store`).
    """

    def __init__(self) -> None:
        self._on_external_change: ExternalChange | None = None
        self._on_log_gap: LogGap | None = None

    def attach(self, on_external_change: ExternalChange, on_log_gap: LogGap | None = None) -> None:
        """Receive changes made outside this process (or read from the log), and gaps in that log."""
        self._on_external_change = on_external_change
        self._on_log_gap = on_log_gap

    def external_change(self, session_id: str, event: ChangeEvent) -> None:
        if self._on_external_change is not None:
            self._on_external_change(session_id, event)

    def log_gap(self, reason: str) -> None:
        """Changes were lost before this process read them: every watcher must be told."""
        if self._on_log_gap is not None:
            self._on_log_gap(reason)

    def location(self) -> str:
        """Where the variables live, for ``describe`` (a path, an address)."""
        return "this process"

    @abc.abstractmethod
    def create(self, session_id: str, variable: Variable) -> Variable:
        """Store a new variable; AlreadyExists when the name is taken in that session."""

    @abc.abstractmethod
    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        """The variable with this id or name (id first), or None. ``fresh`` skips any cache."""

    def get_many(self, session_id: str, identifiers: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        """Found variables keyed by the identifier asked for; missing ones are left out."""
        found = {}
        for identifier in identifiers:
            variable = self.get(session_id, identifier, fresh=fresh)
            if variable is not None:
                found[identifier] = variable
        return found

    @abc.abstractmethod
    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        """Variables whose names match ``pattern`` (see :func:`name_matcher`), sorted by name."""

    @abc.abstractmethod
    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        """Apply all writes or none: NotFound / Conflict (stale version, replaced variable) change nothing."""

    @abc.abstractmethod
    def delete(self, session_id: str, identifier: str) -> Variable:
        """Remove a variable and return its last version; NotFound if absent."""

    def has_session(self, session_id: str) -> bool:
        """Whether the backend knows a session the host has not seen (an Elixir-side session)."""
        return False

    @abc.abstractmethod
    def drop_session(self, session_id: str) -> None:
        """The host closed the session: forget what is kept for it locally."""

    def history(self, session_id: str, variable: Variable) -> EntryList:
        """Past versions, oldest first (only stores that log changes keep history)."""
        raise NotImplementedError(f"the {self.name} store keeps no history")

    def follow(self) -> Callable[[], None]:
        """Deliver logged changes to :meth:`attach`'s callback until the returned function is called."""
        raise NotImplementedError(f"the {self.name} store keeps no change log")

    def close(self) -> None:  # noqa: B027 (most stores hold nothing to release)
        """The host is stopping: stop background work (calls may still run until the grace period ends)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


class _Table:
    __slots__ = ("by_name", "names_by_id")

    def __init__(self) -> None:
        self.by_name: dict[str, Variable] = {}
        self.names_by_id: dict[str, str] = {}

    def find(self, identifier: str) -> Variable | None:
        return self.by_name.get(self.names_by_id.get(identifier, identifier))


class MemoryStore(VariableStore):
    """Variables in this process. Values are stored as given (arrays read-only), never copied."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def create(self, session_id: str, variable: Variable) -> Variable:
        now = time.time()
        with self._lock:
            table = self._tables.setdefault(session_id, _Table())
            existing = table.by_name.get(variable.name)
            if existing is not None:
                raise AlreadyExists(
                    f"variable '{variable.name}' already exists in session '{session_id}' "
                    f"(type {existing.type}, version {existing.version})"
                )
            stored = replace(
                variable, id=f"var_{variable.name}_{next(self._ids)}", version=0, created_at=now, updated_at=now
            )
            table.by_name[stored.name] = stored
            table.names_by_id[stored.id] = stored.name
        return stored

    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        table = self._tables.get(session_id)
        return table.find(identifier) if table is not None else None

    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        table = self._tables.get(session_id)
        if table is None:
            return []
        matches = name_matcher(pattern)
        with self._lock:
            variables = list(table.by_name.values())
        return sorted((v for v in variables if matches(v.name)), key=lambda v: v.name)

    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        if not writes:
            return []  # an empty batch, in a session that may have no variables at all
        now = time.time()
        with self._lock:
            table = self._tables.get(session_id)
            updated = applied([_current(table, write) for write in writes], writes, now)
            assert table is not None  # _current raised otherwise
            for variable in updated:
                table.by_name[variable.name] = variable
        return updated

    def delete(self, session_id: str, identifier: str) -> Variable:
        with self._lock:
            table = self._tables.get(session_id)
            variable = table.find(identifier) if table is not None else None
            if table is None or variable is None:
                raise NotFound(f"unknown variable '{identifier}' in session '{session_id}'")
            del table.by_name[variable.name]
            del table.names_by_id[variable.id]
        return variable

    def drop_session(self, session_id: str) -> None:
        with self._lock:
            self._tables.pop(session_id, None)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            count = sum(len(t.by_name) for t in self._tables.values())
        return {"name": self.name, "sessions": len(self._tables), "variables": count}


def _current(table: _Table | None, write: Write) -> Variable:
    """The stored variable a write applies to, after its identity and version checks."""
    variable = table.by_name.get(write.name) if table is not None else None
    if variable is None:
        raise NotFound(f"unknown variable '{write.name}' (deleted meanwhile?)")
    check_write(variable, write)
    return variable


def applied(current: Sequence[Variable], writes: Sequence[Write], now: float) -> VariableList:
    """The new versions that ``writes`` make of the ``current`` variables (already checked)."""
    return [
        replace(
            old,
            value=write.value,
            version=old.version + 1,
            metadata={**old.metadata, **write.metadata},
            source=write.source,
            updated_at=now,
        )
        for old, write in zip(current, writes, strict=True)
    ]


def check_write(variable: Variable, write: Write) -> None:
    """Conflict when a write was prepared for another incarnation or version of the variable."""
    if variable.id != write.variable_id:
        raise Conflict(f"{write.name}: the variable was deleted and registered again meanwhile; nothing was changed")
    if write.expected_version is not None and write.expected_version != variable.version:
        raise Conflict(
            f"{write.name}: expected version {write.expected_version} but it is at version {variable.version}; "
            "nothing was changed"
        )
