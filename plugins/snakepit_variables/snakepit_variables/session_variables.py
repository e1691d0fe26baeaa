"""One session's variables: the ``ctx.variables`` API, and what the RPCs and commands call.

Values are validated here, with the registered value types, before the
store commits them, so every backend enforces the same rules and a refused
write changes nothing. Commits, history and change events of a session
happen under one lock, so history and watchers see versions in order.
Names given to the methods may also be variable ids (``var_<name>_<n>``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from snakepit_host import FailedPrecondition, InvalidArgument, NotFound, SnakepitError
from snakepit_variables.model import PYTHON, ChangeEvent, HistoryEntry, Variable, Write, source_of
from snakepit_variables.watch import Watch

if TYPE_CHECKING:
    from snakepit_variables.host_state import VariablesRuntime

T = TypeVar("T")

HISTORY_VALUE_BYTES = 1024 * 1024
"""History keeps the values of versions up to this size; larger ones keep only their metadata."""
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
    except (ValueError, TypeError) as exc:
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
        self._history: dict[str, deque[HistoryEntry]] = {}
        self._watches: list[Watch] = []
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
        with self._lock:
            entries = list(self._history.get(variable.name, ()))
        if not entries or entries[-1].version < variable.version:
            entries.append(_entry(variable, {}))
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
        for name, value in mapping.items():
            try:
                prepared[name] = self._prepare(name, value, None, meta)
            except (InvalidArgument, NotFound) as exc:
                errors[name] = str(exc)
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
            self._notify(ChangeEvent("deleted", variable, PYTHON, time.time()))

    def rollback(self, name: str, version: int) -> Variable:
        """Write the value that version ``version`` had, as a new version."""
        variable = self._require(name)
        with self._lock:
            entries = {e.version: e for e in self._history.get(variable.name, ())}
        entry = entries.get(version)
        if entry is None:
            kept = ", ".join(str(v) for v in sorted(entries)) or "none"
            raise NotFound(f"{variable.name}: version {version} is not in history (kept: {kept})")
        if not entry.value_kept:
            raise FailedPrecondition(
                f"{variable.name}: the value of version {version} was not kept "
                f"(history keeps values up to {HISTORY_VALUE_BYTES} bytes)"
            )
        self.set(variable.id, entry.value, metadata={"rollback_to": str(version)})
        return self.get_variable(variable.id)

    # ------------------------------------------------------------ watching

    def watch(self, names_or_patterns: str | Iterable[str], *, include_initial: bool = False) -> Watch:
        """Changes of matching variables (names or globs), as an iterator; close it when done."""
        patterns = [names_or_patterns] if isinstance(names_or_patterns, str) else list(names_or_patterns)
        patterns = [self._name_of(p) for p in patterns]
        store = self._runtime.store
        poll = self._refresh if store.changes_elsewhere else None
        watch = Watch(patterns, poll=poll, poll_interval=self._runtime.poll_interval, on_close=self._forget)
        with self._lock:
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

    def observe(self, variable: Variable) -> None:
        """A newer version written elsewhere (the Elixir side) was read: record it and tell watchers."""
        with self._lock:
            entries = self._history.get(variable.name)
            if entries and entries[-1].version >= variable.version:
                return
            self._remember(variable, "value_change", {"changed_elsewhere": "true"})

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

    def _prepare(self, name: str, value: Any, expected_version: int | None, meta: dict[str, str]) -> Write:
        variable = self._require(name, fresh=expected_version is not None)
        value_type = named(variable.name, self._runtime.value_type, variable.type)
        clean = named(variable.name, value_type.validate, value, variable.constraints)
        return Write(variable.name, variable.id, clean, expected_version, meta, source_of(meta, PYTHON))

    def _check_open(self) -> None:
        if self._closed:
            raise NotFound(f"session '{self.session_id}' was closed")

    def _remember(self, variable: Variable, kind: str, metadata: Mapping[str, str]) -> None:
        """Append to history and notify watchers (caller holds the lock)."""
        entries = self._history.get(variable.name)
        if entries is None:
            entries = self._history[variable.name] = deque(maxlen=self._runtime.history_limit)
        entries.append(_entry(variable, metadata))
        self._notify(ChangeEvent(kind, variable, variable.source, time.time(), dict(metadata)))

    def _notify(self, event: ChangeEvent) -> None:
        watchers = [w for w in self._watches if w.matches(event.name)]
        if watchers:
            event = replace(event, variable=public(event.variable))
            for watch in watchers:
                watch.push(event)

    def _forget(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)


def _entry(variable: Variable, metadata: Mapping[str, str]) -> HistoryEntry:
    kept = getattr(variable.value, "nbytes", 0) <= HISTORY_VALUE_BYTES
    return HistoryEntry(
        version=variable.version,
        value=variable.value if kept else None,
        timestamp=variable.updated_at,
        source=variable.source,
        metadata=dict(metadata),
        value_kept=kept,
    )
