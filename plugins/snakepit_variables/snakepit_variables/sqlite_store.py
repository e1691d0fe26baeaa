"""The ``sqlite`` store: one database file shared by every worker of a pool on one machine.

Standard library ``sqlite3`` in WAL mode: readers never wait for the
writer, and each commit is one ``BEGIN IMMEDIATE`` transaction, so the
version checks, the new values, the history rows and the change log of a
batch land together or not at all, whichever worker writes. A committed
transaction is in the file before the call answers, so it survives the
worker being recycled, crashing or being killed (``synchronous=NORMAL``:
an operating-system crash or power loss may lose the last commits; see the
README). Watchers of other workers poll the log every
:data:`POLL_SECONDS`; this worker's own commits wake its feed at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakepit_host import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    SnakepitError,
    Unavailable,
)
from snakepit_variables.history import HISTORY_VARIABLE_BYTES
from snakepit_variables.model import ChangeEvent, HistoryEntry, Variable, Write
from snakepit_variables.shared_store import LOG_RETENTION_SECONDS, LogGap, LoggedChanges, SharedStore, log
from snakepit_variables.stores import EntryList, VariableList, applied, check_write, name_matcher

if TYPE_CHECKING:
    from snakepit_host import ValueType

POLL_SECONDS = 0.05
"""How often a watching worker looks for other workers' changes (its own arrive at once)."""
BUSY_TIMEOUT_SECONDS = 5.0
"""How long a write waits for another worker's transaction before UNAVAILABLE."""
SCHEMA_VERSION = 1
LOG_BATCH = 500
LOOKUP_CHUNK = 400
TRIM_EVERY = 8
"""A variable's old log rows are removed every this many versions (history reads only the newest anyway)."""
_RECORD = "id, name, type, value, data, size, version, constraints, metadata, source, created, updated"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, last_used REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS variables (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, type TEXT NOT NULL,
    value TEXT NOT NULL, data BLOB, size INTEGER NOT NULL, version INTEGER NOT NULL,
    constraints TEXT NOT NULL, metadata TEXT NOT NULL, source TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL,
    UNIQUE (session, name)
);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL, kind TEXT NOT NULL, change TEXT NOT NULL,
    id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    value TEXT, data BLOB, size INTEGER NOT NULL, version INTEGER NOT NULL,
    constraints TEXT NOT NULL, metadata TEXT NOT NULL, source TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS log_by_variable ON log (id, version);
CREATE INDEX IF NOT EXISTS log_by_age ON log (id, updated);
CREATE INDEX IF NOT EXISTS log_by_session ON log (session);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def default_path(run_id: str) -> Path:
    """Where a pool's database lives when no path is configured: one file per Snakepit run.

    Every worker of a Snakepit run (one BEAM instance) gets the same
    ``--snakepit-run-id``, so they share the file; a new run starts empty,
    as Snakepit's own session store does. ``$XDG_RUNTIME_DIR`` (private to
    the user, removed at logout) when set, else a private directory in the
    system temporary directory (created mode 0700; refused if another user
    owns it, since anyone can create folders there).
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "snakepit-variables" if runtime else Path(_tempdir()) / f"snakepit-variables-{os.getuid()}"
    try:
        _private_directory(base)
    except OSError as exc:
        raise FailedPrecondition(f"cannot create {base} for the variables database: {exc}") from None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)[:100]
    return base / (f"run-{safe}.sqlite3" if safe else "standalone.sqlite3")


def _tempdir() -> str:
    import tempfile

    return tempfile.gettempdir()


def _private_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_uid != os.getuid():
        raise FailedPrecondition(f"{directory} belongs to another user; set --variables-sqlite-path")


class SQLiteStore(SharedStore):
    """Variables in one SQLite file (WAL), shared by the worker processes that open it."""

    name = "sqlite"
    feed_wait = POLL_SECONDS

    def __init__(
        self, path: Path, value_type: Callable[[str], ValueType], *, history_limit: int, session_ttl: float
    ) -> None:
        super().__init__(value_type, history_limit=history_limit, session_ttl=session_ttl)
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FailedPrecondition(f"{self.location()}: cannot create its directory: {exc}") from None
        with self._errors("opening"):
            connection = self._connection()
            connection.execute("PRAGMA journal_mode=WAL")
            if connection.execute("PRAGMA user_version").fetchone()[0] not in (0, SCHEMA_VERSION):
                raise FailedPrecondition(f"{self.location()}: written by another version of snakepit-variables")
            connection.executescript(_SCHEMA)

    def location(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------ connections and errors

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._failure(exc, doing) from None

    def _failure(self, exc: sqlite3.Error, doing: str) -> SnakepitError:
        text = str(exc)
        lowered = text.lower()
        where = f"variables store sqlite ({self.path})"
        outcome = "; nothing was written" if doing == "writing" else ""
        if "full" in lowered:
            return ResourceExhausted(f"{where}: the disk is full ({text}){outcome}")
        if "readonly" in lowered or "read-only" in lowered or ("unable to open" in lowered and self._read_only()):
            return FailedPrecondition(f"{where} is read-only ({text}){outcome}")
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return FailedPrecondition(f"{where} is corrupt ({text}){outcome}")
        if "locked" in lowered or "busy" in lowered:
            return Unavailable(f"{where} is busy: another worker held it for over {BUSY_TIMEOUT_SECONDS:g} s{outcome}")
        return Unavailable(f"{where}: {doing} failed ({text}){outcome}")

    def _read_only(self) -> bool:
        """Whether the file or its directory cannot be written (a read-only mount, permissions)."""
        directory = self.path.parent
        try:
            on_read_only_mount = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
        except OSError:
            return False
        writable = os.access(directory, os.W_OK) and (not self.path.exists() or os.access(self.path, os.W_OK))
        return on_read_only_mount or not writable

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any failure rolls it back whole."""
        connection = self._connection()
        with self._errors("writing"):
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        self.wake_feed()

    def _read(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._errors("reading"):
            return self._connection().execute(sql, parameters).fetchall()

    # ------------------------------------------------------------ rows

    def _variable(self, row: Sequence[Any], *, with_value: bool = True) -> Variable:
        """A row as a variable; a commit, which replaces the value, skips decoding it."""
        id_, name, type_name, text, data, _size, version, constraints, metadata, source, created, updated = row
        return Variable(
            id=id_,
            name=name,
            type=type_name,
            value=self.decoded(type_name, name, text, data) if with_value else None,
            version=version,
            constraints=json.loads(constraints),
            metadata=json.loads(metadata),
            source=source,
            created_at=created,
            updated_at=updated,
        )

    def _log(
        self,
        connection: sqlite3.Connection,
        session_id: str,
        kind: str,
        variable: Variable,
        change: Any,
        encoded: tuple[str, bytes | None, int],
    ) -> None:
        """A log row (which is also the history entry) for one change; a value too large stays out."""
        text: str | None = encoded[0]
        data, size = encoded[1], encoded[2]
        if kind != "deleted" and not self.logged_value(size):
            text, data = None, None
        connection.execute(
            f"INSERT INTO log (session, kind, change, {_RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, kind, json.dumps(dict(change)), *self._fields(variable, text, data, size)),
        )

    @staticmethod
    def _fields(variable: Variable, text: str | None, data: bytes | None, size: int) -> tuple[Any, ...]:
        return (
            variable.id,
            variable.name,
            variable.type,
            text,
            data,
            size,
            variable.version,
            json.dumps(dict(variable.constraints)),
            json.dumps(dict(variable.metadata)),
            variable.source,
            variable.created_at,
            variable.updated_at,
        )

    def _touch(self, connection: sqlite3.Connection, session_id: str, now: float) -> None:
        connection.execute(
            "INSERT INTO sessions (id, last_used) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET last_used = max(last_used, excluded.last_used)",
            (session_id, now),
        )
        self.touched(session_id)

    def _seen(self, session_id: str) -> None:
        """Record a read's use of the session, now and then (a busy file only delays it)."""
        if self.needs_touch(session_id):
            try:
                with self._write() as connection:
                    self._touch(connection, session_id, time.time())
            except SnakepitError:
                pass

    # ------------------------------------------------------------ VariableStore

    def create(self, session_id: str, variable: Variable) -> Variable:
        now = time.time()
        with self._write() as connection:
            existing = connection.execute(
                "SELECT type, version FROM variables WHERE session = ? AND name = ?", (session_id, variable.name)
            ).fetchone()
            if existing is not None:
                raise AlreadyExists(
                    f"variable '{variable.name}' already exists in session '{session_id}' "
                    f"(type {existing[0]}, version {existing[1]})"
                )
            pending = replace(variable, id="", version=0, created_at=now, updated_at=now)
            text, data, size = self.encoded(pending)
            cursor = connection.execute(
                f"INSERT INTO variables (session, {_RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, *self._fields(pending, text, data, size)),
            )
            stored = replace(pending, id=f"var_{variable.name}_{cursor.lastrowid}")
            connection.execute("UPDATE variables SET id = ? WHERE number = ?", (stored.id, cursor.lastrowid))
            self._log(connection, session_id, "registered", stored, stored.metadata, (text, data, size))
            self._touch(connection, session_id, now)
        self._maybe_sweep()
        return stored

    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        rows = self._read(
            f"SELECT {_RECORD} FROM variables WHERE session = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1",
            (session_id, identifier, identifier, identifier),
        )
        self._seen(session_id)
        return self._variable(rows[0]) if rows else None

    def get_many(self, session_id: str, identifiers: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        wanted = list(dict.fromkeys(identifiers))
        rows = []
        for start in range(0, len(wanted), LOOKUP_CHUNK):  # SQLite bounds the parameters of one statement
            chunk = wanted[start : start + LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows += self._read(
                f"SELECT {_RECORD} FROM variables WHERE session = ? AND (id IN ({marks}) OR name IN ({marks}))",
                (session_id, *chunk, *chunk),
            )
        self._seen(session_id)
        variables = [self._variable(row) for row in rows]
        by_id = {v.id: v for v in variables}
        by_name = {v.name: v for v in variables}
        found = {}
        for identifier in wanted:
            variable = by_id.get(identifier) or by_name.get(identifier)
            if variable is not None:
                found[identifier] = variable
        return found

    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        rows = self._read(f"SELECT {_RECORD} FROM variables WHERE session = ? ORDER BY name", (session_id,))
        self._seen(session_id)
        matches = name_matcher(pattern)
        return [self._variable(row) for row in rows if matches(row[1])]

    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        now = time.time()
        with self._write() as connection:
            current = []
            for write in writes:
                row = connection.execute(
                    f"SELECT {_RECORD} FROM variables WHERE session = ? AND name = ?", (session_id, write.name)
                ).fetchone()
                if row is None:
                    raise NotFound(f"unknown variable '{write.name}' (deleted meanwhile?)")
                variable = self._variable(row, with_value=False)
                check_write(variable, write)
                current.append(variable)
            updated = applied(current, writes, now)
            for variable, write in zip(updated, writes, strict=True):
                text, data, size = self.encoded(variable)
                connection.execute(
                    "UPDATE variables SET value = ?, data = ?, size = ?, version = ?, metadata = ?, source = ?, "
                    "updated = ? WHERE id = ?",
                    (
                        text,
                        data,
                        size,
                        variable.version,
                        json.dumps(dict(variable.metadata)),
                        variable.source,
                        now,
                        variable.id,
                    ),
                )
                self._log(connection, session_id, "value_change", variable, write.metadata, (text, data, size))
                if variable.version % TRIM_EVERY == 0:
                    self._trim(connection, variable, now)
            self._touch(connection, session_id, now)
        self._maybe_sweep()
        return updated

    def _trim(self, connection: sqlite3.Connection, variable: Variable, now: float) -> None:
        """Remove a variable's log rows past the history limit, and drop kept values past the byte budget.

        Only rows older than the log retention are touched (a watching worker may not have read them yet).
        """
        old = now - LOG_RETENTION_SECONDS
        connection.execute(  # by age first (log_by_age): only rows past the retention are looked at
            "DELETE FROM log WHERE id = ? AND updated < ? AND version <= ? AND kind != 'deleted'",
            (variable.id, old, variable.version - self.history_limit),
        )
        connection.execute(
            "UPDATE log SET value = NULL, data = NULL WHERE updated < ? AND seq IN ("
            " SELECT seq FROM (SELECT seq, SUM(size) OVER (ORDER BY version DESC) AS kept FROM log"
            "  WHERE id = ? AND value IS NOT NULL AND kind != 'deleted') WHERE kept > ?)",
            (old, variable.id, HISTORY_VARIABLE_BYTES),
        )

    def delete(self, session_id: str, identifier: str) -> Variable:
        now = time.time()
        with self._write() as connection:
            row = connection.execute(
                f"SELECT {_RECORD} FROM variables WHERE session = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC "
                "LIMIT 1",
                (session_id, identifier, identifier, identifier),
            ).fetchone()
            if row is None:
                raise NotFound(f"unknown variable '{identifier}' in session '{session_id}'")
            variable = self._variable(row)
            connection.execute("DELETE FROM variables WHERE id = ?", (variable.id,))
            self._log(connection, session_id, "deleted", variable, {}, self.encoded(variable))
            self._touch(connection, session_id, now)
        return variable

    def has_session(self, session_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    def expire_session(self, session_id: str, unused_since: float) -> None:
        with self._write() as connection:
            self._expire(connection, [session_id], unused_since)

    @staticmethod
    def _expire(connection: sqlite3.Connection, session_ids: Sequence[str], unused_since: float) -> None:
        for session_id in session_ids:
            gone = connection.execute(
                "DELETE FROM sessions WHERE id = ? AND last_used < ?", (session_id, unused_since)
            ).rowcount
            if gone:
                connection.execute("DELETE FROM variables WHERE session = ?", (session_id,))
                connection.execute(
                    "DELETE FROM log WHERE session = ? AND updated < ?",
                    (session_id, time.time() - LOG_RETENTION_SECONDS),
                )

    def _maybe_sweep(self) -> None:
        """Remove sessions no worker used within the TTL, and log rows nobody needs any more."""
        if not self.due_for_sweep():
            return
        now = time.time()
        try:
            with self._write() as connection:
                idle = [
                    row[0]
                    for row in connection.execute(
                        "SELECT id FROM sessions WHERE last_used < ?", (now - self.session_ttl,)
                    )
                ]
                self._expire(connection, idle, now - self.session_ttl)
                connection.execute(
                    "DELETE FROM log WHERE updated < ? AND (kind = 'deleted' OR id NOT IN (SELECT id FROM variables))",
                    (now - LOG_RETENTION_SECONDS,),
                )
        except SnakepitError as exc:
            log.warning("variables: sweeping the sqlite store failed: %s", exc)

    # ------------------------------------------------------------ history and log

    def history_entries(self, session_id: str, variable: Variable) -> EntryList:
        rows = self._read(
            "SELECT version, type, value, data, size, change, source, updated FROM log "
            "WHERE id = ? AND kind != 'deleted' ORDER BY version DESC LIMIT ?",
            (variable.id, self.history_limit),
        )
        entries = []
        for version, type_name, text, data, size, change, source, updated in reversed(rows):
            kept = text is not None
            entries.append(
                HistoryEntry(
                    version=version,
                    value=self.decoded(type_name, variable.name, text, data) if kept else None,
                    timestamp=updated,
                    source=source,
                    metadata=json.loads(change),
                    value_kept=kept,
                    size=size,
                )
            )
        return entries

    def log_cursor(self) -> int:
        rows = self._read("SELECT seq FROM sqlite_sequence WHERE name = 'log'")
        return int(rows[0][0]) if rows else 0

    def read_log(self, cursor: int) -> tuple[LoggedChanges, int]:
        rows = self._read(
            f"SELECT seq, session, kind, change, {_RECORD} FROM log WHERE seq > ? ORDER BY seq LIMIT {LOG_BATCH}",
            (cursor,),
        )
        if rows and rows[0][0] != cursor + 1:
            raise LogGap(
                f"changes {cursor + 1}-{rows[0][0] - 1} of the sqlite log were removed before this worker read them "
                f"(it fell more than {LOG_RETENTION_SECONDS:g} s behind)",
                rows[0][0] - 1,
            )
        changes: LoggedChanges = []
        for seq, session_id, kind, change, *record in rows:
            cursor = seq
            variable = self._logged_variable(session_id, record)
            if variable is not None:
                changes.append(
                    (session_id, ChangeEvent(kind, variable, variable.source, variable.updated_at, json.loads(change)))
                )
        return changes, cursor

    def _logged_variable(self, session_id: str, record: Sequence[Any]) -> Variable | None:
        """The version a log row describes; a value too large for the log is read as it is now (coalesced)."""
        if record[3] is not None:
            return self._variable(record)
        return self.get(session_id, record[0])
