"""One session's variables: the ``ctx.variables`` API, and what the RPCs and commands call.

Values are validated here, with the registered value types, before the
store commits them, so every backend enforces the same rules and a refused
write changes nothing. Commits, history and change events of a session
happen under one lock, so history and watchers see versions in order.
A store shared by several workers (``logs_changes``) keeps history itself
and feeds watchers from its change log instead, so that every worker's
writes reach them. Names given to the methods may also be variable ids
(``var_<name>_<n>``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from snakepit_host import FailedPrecondition, InvalidArgument, NotFound, SnakepitError
from snakepit_variables.history import (
    HISTORY_VALUE_BYTES,
    HISTORY_VARIABLE_BYTES,
    history_entry,
    value_size,
    within_budget,
)
from snakepit_variables.model import PYTHON, ChangeEvent, HistoryEntry, Variable, Write, source_of
from snakepit_variables.watch import Watch, check_patterns

if TYPE_CHECKING:
    from snakepit_variables.host_state import VariablesRuntime

T = TypeVar("T")

MAX_NAME_LENGTH = 128
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_MISSING: Any = object()
VariableList = list[Variable]  # (``list`` is a method name in the class body)
EntryList = list[HistoryEntry]


class BatchError(InvalidArgument):
    """Some updates of a batch failed. ``errors`` by name; ``versions`` of those that were applied."""

    def __init__(self, errors: Mapping[str, str], versions: Mapping[str, int] | None = None, atomic: bool = True):
        self.errors = dict(errors)
        self.versions = dict(versions or {})
        outcome = "nothing was changed" if atomic else f"{len(self.versions)} applied"
        detail = "; ".join(self.errors.values())
        super().__init__(f"{len(self.errors)} update(s) failed ({outcome}): {detail}")


def check_variable_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"variable name {name!r:.100} must start with a letter or '_', contain only letters, digits, '_', '.' "
            f"and '-', and be at most {MAX_NAME_LENGTH} characters"
        )
    return name


def named(name: str, function: Callable[..., T], *args: Any) -> T:
    """Run a type's check; its complaint is prefixed with the variable's name."""
    try:
        return function(*args)
    except SnakepitError as exc:
        if isinstance(exc, InvalidArgument):
            raise InvalidArgument(f"{name}: {exc}") from None
        raise
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
        raise InvalidArgument(f"{name}: {type(exc).__name__}: {exc}") from None


def string_map(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (metadata or {}).items()}


def _copy_value(value: Any) -> Any:
    """A reader's own copy of a list or dict value; other values are immutable and shared."""
    if isinstance(value, (list, dict)):
        return json.loads(json.dumps(value))
    return value


def public(variable: Variable) -> Variable:
    return (
        variable
        if not isinstance(variable.value, (list, dict))
        else replace(variable, value=_copy_value(variable.value))
    )


class SessionVariables:
    """Typed, constrained, versioned variables of one session (``ctx.variables``)."""

    def __init__(self, runtime: VariablesRuntime, session_id: str) -> None:
        self._runtime = runtime
        self.session_id = session_id
        self._lock = threading.RLock()
        self._history: dict[str, list[HistoryEntry]] = {}
        """Past versions per variable, oldest first (a list: a deque costs ~600 bytes more per variable)."""
        self._history_bytes: dict[str, int] = {}
        self._watches: list[Watch] = []
        self._unfollow: dict[Watch, Callable[[], None]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"SessionVariables(session_id={self.session_id!r})"

    # ------------------------------------------------------------ reading

    def get(self, name: str, default: Any = _MISSING) -> Any:
        """The current value; ``default`` if the variable does not exist (NotFound when omitted)."""
        variable = self._runtime.store.get(self.session_id, name)
        if variable is None:
            if default is _MISSING:
                raise self._unknown(name)
            return default
        return _copy_value(variable.value)

    def get_variable(self, name: str, *, fresh: bool = False) -> Variable:
        """The whole record (value, version, constraints, metadata, source, times)."""
        return public(self._require(name, fresh))

    def exists(self, name: str) -> bool:
        return self._runtime.store.get(self.session_id, name) is not None

    def list(self, pattern: str | None = None) -> VariableList:
        """Variables whose names contain ``pattern`` (``*`` matches any text), as Snakepit lists them."""
        return [public(v) for v in self._runtime.store.list(self.session_id, pattern)]

    def get_many(self, names: Iterable[str]) -> dict[str, Any]:
        """Values by name; names that do not exist are left out."""
        found = self._runtime.store.get_many(self.session_id, list(names))
        return {name: _copy_value(variable.value) for name, variable in found.items()}

    def get_variables(self, names: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        found = self._runtime.store.get_many(self.session_id, list(names), fresh=fresh)
        return {name: public(variable) for name, variable in found.items()}

    def history(self, name: str, limit: int | None = None) -> EntryList:
        """Past versions seen by this host, oldest first; ``limit`` keeps the most recent ones."""
        variable = self._require(name)
        entries = self._entries(variable)
        if not entries or entries[-1].version < variable.version:
            entries.append(history_entry(variable, {}))
        if limit is not None and limit > 0:
            entries = entries[-limit:]
        return [replace(e, value=_copy_value(e.value)) for e in entries]

    # ------------------------------------------------------------ writing

    def register(
        self,
        name: str,
        type: str,
        value: Any,
        *,
        constraints: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> Variable:
        """Create a variable at version 0; the constraints and the value are checked first."""
        check_variable_name(name)
        value_type = named(name, self._runtime.value_type, type)
        checked = named(name, value_type.check_constraints, constraints or {})
        clean = named(name, value_type.validate, value, checked)
        meta = string_map(metadata)
        if description is not None:
            meta["description"] = str(description)
        draft = Variable(
            id="", name=name, type=type, value=clean, constraints=checked, metadata=meta, source=source_of(meta, PYTHON)
        )
        with self._lock:
            self._check_open()
            stored = self._runtime.store.create(self.session_id, draft)
            self._remember(stored, "registered", meta)
        return public(stored)

    def set(
        self,
        name: str,
        value: Any,
        *,
        expected_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Validate and store a new value; returns the new version.

        With ``expected_version``, the write happens only if the variable is
        still at that version; otherwise :class:`~snakepit_host.Conflict`
        and nothing changes (optimistic concurrency).
        """
        meta = string_map(metadata)
        write = self._prepare(name, value, expected_version, meta)
        with self._lock:
            self._check_open()
            [stored] = self._runtime.store.commit(self.session_id, [write])
            self._remember(stored, "value_change", meta)
        return stored.version

    def set_many(
        self, mapping: Mapping[str, Any], *, atomic: bool = True, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, int]:
        """Set several variables; new versions by name.

        ``atomic``: all or nothing. Otherwise the valid ones are applied. Either
        way a failure raises :class:`BatchError` listing every problem.
        """
        meta = string_map(metadata)
        prepared: dict[str, Write] = {}
        errors: dict[str, str] = {}
        found = self._runtime.store.get_many(self.session_id, list(mapping))  # one read for the batch
        for name, value in mapping.items():
            try:
                prepared[name] = self._prepare(name, value, None, meta, found.get(name))
            except (InvalidArgument, NotFound) as exc:
                errors[name] = str(exc)
        _refuse_repeats(prepared, errors)
        if errors and atomic:
            raise BatchError(errors)
        versions: dict[str, int] = {}
        with self._lock:
            self._check_open()
            groups = [list(prepared.items())] if atomic else [[item] for item in prepared.items()]
            for group in groups:
                try:
                    stored = self._runtime.store.commit(self.session_id, [write for _, write in group])
                except SnakepitError as exc:
                    if atomic:
                        raise
                    errors[group[0][0]] = str(exc)
                    continue
                for (key, _), variable in zip(group, stored, strict=True):
                    versions[key] = variable.version
                    self._remember(variable, "value_change", meta)
        if errors:
            raise BatchError(errors, versions, atomic)
        return versions

    def delete(self, name: str) -> None:
        with self._lock:
            self._check_open()
            variable = self._runtime.store.delete(self.session_id, name)
            self._history.pop(variable.name, None)
            self._history_bytes.pop(variable.name, None)
            if not self._runtime.store.logs_changes:
                self._notify(ChangeEvent("deleted", variable, PYTHON, time.time()))

    def rollback(self, name: str, version: int) -> Variable:
        """Write the value that version ``version`` had, as a new version."""
        variable = self._require(name)
        entries = {e.version: e for e in self._entries(variable)}
        entry = entries.get(version)
        if entry is None:
            kept = ", ".join(str(v) for v in sorted(entries)) or "none"
            raise NotFound(f"{variable.name}: version {version} is not in history (kept: {kept})")
        if not entry.value_kept:
            raise FailedPrecondition(
                f"{variable.name}: the value of version {version} was not kept "
                f"(history keeps values up to {HISTORY_VALUE_BYTES} bytes, {HISTORY_VARIABLE_BYTES} per variable)"
            )
        self.set(variable.id, entry.value, metadata={"rollback_to": str(version)})
        return self.get_variable(variable.id)

    # ------------------------------------------------------------ watching

    def watch(self, names_or_patterns: str | Iterable[str], *, include_initial: bool = False) -> Watch:
        """Changes of matching variables (names or globs), as an iterator; close it when done."""
        patterns = [names_or_patterns] if isinstance(names_or_patterns, str) else list(names_or_patterns)
        patterns = [self._name_of(p) for p in check_patterns(patterns)]
        store = self._runtime.store
        poll = self._refresh if store.changes_elsewhere else None
        unfollow = store.follow() if store.logs_changes else None
        watch = Watch(patterns, poll=poll, poll_interval=self._runtime.poll_interval, on_close=self._forget)
        with self._lock:
            if unfollow is not None:
                self._unfollow[watch] = unfollow
            if self._closed:
                watch.close()
                return watch
            self._watches.append(watch)
        if include_initial:
            now = time.time()
            for variable in store.list(self.session_id):
                if watch.matches(variable.name):
                    watch.push(ChangeEvent("initial_value", public(variable), variable.source, now))
        return watch

    def observe(self, event: ChangeEvent) -> None:
        """A change from the store's log, or a newer version written elsewhere (the Elixir side) was read."""
        with self._lock:
            if self._runtime.store.logs_changes:
                self._notify(event)
                return
            variable = event.variable
            entries = self._history.get(variable.name)
            if entries and entries[-1].version >= variable.version:
                return
            self._remember(variable, "value_change", {"changed_elsewhere": "true"})

    def fail_watches(self, reason: str) -> None:
        """The store's log lost changes before they reached this worker: every watch ends with DATA_LOSS."""
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            watch.fail(reason)

    def _refresh(self) -> None:
        """Re-read the store, so that changes made elsewhere reach :meth:`observe` (and the watchers)."""
        self._runtime.store.list(self.session_id)

    def close(self) -> None:
        """The session ended: end every watch."""
        with self._lock:
            self._closed = True
            watches, self._watches = self._watches, []
        for watch in watches:
            watch.close()

    # ------------------------------------------------------------ internals

    def _unknown(self, name: str) -> NotFound:
        return NotFound(f"unknown variable '{name}' in session '{self.session_id}'")

    def _require(self, name: str, fresh: bool = False) -> Variable:
        variable = self._runtime.store.get(self.session_id, name, fresh=fresh)
        if variable is None:
            raise self._unknown(name)
        return variable

    def _name_of(self, identifier: str) -> str:
        if identifier.startswith("var_"):
            variable = self._runtime.store.get(self.session_id, identifier)
            if variable is not None:
                return variable.name
        return identifier

    def _prepare(
        self, name: str, value: Any, expected_version: int | None, meta: dict[str, str], found: Variable | None = None
    ) -> Write:
        variable = found if found is not None else self._require(name, fresh=expected_version is not None)
        value_type = named(variable.name, self._runtime.value_type, variable.type)
        clean = named(variable.name, value_type.validate, value, variable.constraints)
        return Write(variable.name, variable.id, clean, expected_version, meta, source_of(meta, PYTHON))

    def _check_open(self) -> None:
        if self._closed:
            raise NotFound(f"session '{self.session_id}' was closed")

    def _entries(self, variable: Variable) -> EntryList:
        if self._runtime.store.logs_changes:
            return self._runtime.store.history(self.session_id, variable)
        with self._lock:
            return list(self._history.get(variable.name, ()))

    def _remember(self, variable: Variable, kind: str, metadata: Mapping[str, str]) -> None:
        """Append to history and notify watchers (caller holds the lock); a store with a log does both itself."""
        if self._runtime.store.logs_changes:
            return
        entries = self._history.get(variable.name)
        if entries is None:
            entries = self._history[variable.name] = []
        entry = history_entry(variable, metadata)
        entries.append(entry)
        kept = self._history_bytes.get(variable.name, 0) + (entry.size if entry.value_kept else 0)
        if len(entries) > self._runtime.history_limit:
            oldest = entries.pop(0)  # at most history_limit entries (100 by default) to move
            kept -= oldest.size if oldest.value_kept else 0
        if kept > HISTORY_VARIABLE_BYTES:
            bounded = within_budget(entries)
            entries[:] = bounded
            kept = sum(e.size for e in bounded if e.value_kept)
        self._history_bytes[variable.name] = kept
        self._notify(ChangeEvent(kind, variable, variable.source, time.time(), dict(metadata)))

    def _notify(self, event: ChangeEvent) -> None:
        watchers = [w for w in self._watches if w.matches(event.name)]
        if watchers:
            event = replace(event, variable=public(event.variable))
            size = value_size(event.variable.value)
            for watch in watchers:
                watch.push(event, size)

    def _forget(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)
            unfollow = self._unfollow.pop(watch, None)
        if unfollow is not None:
            unfollow()


def _refuse_repeats(prepared: dict[str, Write], errors: dict[str, str]) -> None:
    """One batch naming a variable twice (by name and by id) would write one of the two values unseen."""
    first: dict[str, str] = {}
    for key, write in list(prepared.items()):
        earlier = first.setdefault(write.variable_id, key)
        if earlier != key:
            errors[key] = f"{key} and {earlier} name the same variable ({write.name}); set it once per batch"
            del prepared[key]
