"""The ``redis`` store: variables shared by workers on several machines (Snakepit over BEAM nodes).

Needs the ``redis`` client package (``pip install 'snakepit-variables[redis]'``),
imported only when this store is chosen. Each commit is a ``WATCH`` /
``MULTI`` / ``EXEC`` transaction over the variables it writes: the version
checks hold across workers (a concurrent writer makes ``EXEC`` fail and the
commit is checked again), and the new values, history entries and change
log entries land together or not at all. The change log is a Redis stream
with a sequence number in each entry, so a worker that reads it can tell
when entries were trimmed before it read them.

Keys, under the configured prefix ``P``: ``P:v:<session>:<name>`` (a hash per
variable), ``P:ids:<session>`` (id -> name), ``P:h:<id>`` (history, newest
first), ``P:sessions`` (last use per session), ``P:log`` and ``P:log-seq``
(the change log), ``P:ids-counter``. Values are raw bytes and JSON text,
never pickle. The scripts compute key names, so use one Redis server (or a
primary with replicas), not Redis Cluster.

Commands are never retried by the client: after a lost connection a write
answers UNAVAILABLE, and the caller decides (a blind retry could overwrite
a newer version). Acknowledged writes are as durable as the server's
persistence makes them (``appendonly yes``; see the README).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from snakepit_host import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    SnakepitError,
    Unavailable,
)
from snakepit_variables.model import ChangeEvent, HistoryEntry, Variable, Write
from snakepit_variables.shared_store import LOG_RETENTION_SECONDS, LogGap, LoggedChanges, SharedStore, log
from snakepit_variables.stored_values import dumps, pack, unpack
from snakepit_variables.stores import EntryList, VariableList, applied, check_write, name_matcher

if TYPE_CHECKING:
    from snakepit_host import ValueType

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0
FEED_BLOCK_MS = 1000
LOG_BATCH = 500
TRANSACTION_ATTEMPTS = 1000
"""Commits checked again after a concurrent writer got in first; each attempt re-reads (livelock guard)."""

_APPEND_LOG = """
local seq = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local oldest = tostring((tonumber(now[1]) - tonumber(ARGV[1])) * 1000) .. '-0'
local command = {'XADD', KEYS[1], 'MINID', '~', oldest, '*', 'seq', seq}
for i = 2, #ARGV do command[#command + 1] = ARGV[i] end
return redis.call(unpack(command))
"""
_EXPIRE_SESSION = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= tonumber(ARGV[2]) then return 0 end
local ids = KEYS[2] .. ':ids:' .. ARGV[1]
local pairs = redis.call('HGETALL', ids)
for i = 1, #pairs, 2 do
    redis.call('DEL', KEYS[2] .. ':v:' .. ARGV[1] .. ':' .. pairs[i + 1], KEYS[2] .. ':h:' .. pairs[i])
end
redis.call('DEL', ids)
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""


def shown_url(url: str) -> str:
    """The URL without its password (it goes into logs, errors and ``describe``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisStore(SharedStore):
    """Variables in a Redis server, shared by every worker that uses the same URL and prefix."""

    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str,
        value_type: Callable[[str], ValueType],
        *,
        history_limit: int,
        session_ttl: float,
    ) -> None:
        super().__init__(value_type, history_limit=history_limit, session_ttl=session_ttl)
        try:
            import redis
        except ImportError:
            raise FailedPrecondition(
                "the redis client package is not installed: pip install 'snakepit-variables[redis]'"
            ) from None
        self._redis = redis
        self.url = shown_url(url)
        self.prefix = prefix
        try:
            self._client = self._connect(url, COMMAND_TIMEOUT_SECONDS)
            self._feed_client = self._connect(url, COMMAND_TIMEOUT_SECONDS + FEED_BLOCK_MS / 1000)
        except ValueError as exc:
            raise FailedPrecondition(f"{self.url} is not a Redis URL: {exc}") from None
        self._append_log = self._client.register_script(_APPEND_LOG)
        self._expire_script = self._client.register_script(_EXPIRE_SESSION)
        with self._errors("connecting"):
            self._client.ping()

    def _connect(self, url: str, timeout: float) -> Any:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return self._redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=1,
        )

    def location(self) -> str:
        return f"{self.url} (prefix {self.prefix!r})"

    # ------------------------------------------------------------ keys and errors

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _variable_key(self, session_id: str, name: str) -> str:
        return self._key("v", session_id, name)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except self._redis.RedisError as exc:
            raise self._failure(exc, doing) from None

    def _failure(self, exc: Exception, doing: str) -> SnakepitError:
        where = f"variables store redis at {self.url}"
        outcome = "; the write was not acknowledged (read the variable to see whether it was applied)"
        outcome = outcome if doing == "writing" else ""
        text = str(exc) or type(exc).__name__
        if isinstance(exc, self._redis.ResponseError) and text.startswith("OOM"):
            return ResourceExhausted(f"{where} is out of memory ({text}){outcome}")
        if isinstance(exc, (self._redis.ConnectionError, self._redis.TimeoutError)):
            return Unavailable(f"{where} is unavailable while {doing}: {text}{outcome}")
        return Unavailable(f"{where}: {doing} failed: {text}{outcome}")

    # ------------------------------------------------------------ records

    def _fields(self, variable: Variable) -> dict[str, Any]:
        text, data, size = self.encoded(variable)
        return {
            "id": variable.id,
            "name": variable.name,
            "type": variable.type,
            "value": text,
            "data": data or b"",
            "size": size,
            "version": variable.version,
            "constraints": dumps(dict(variable.constraints)),
            "metadata": dumps(dict(variable.metadata)),
            "source": variable.source,
            "created": repr(variable.created_at),
            "updated": repr(variable.updated_at),
        }

    def _variable(self, fields: dict[bytes, bytes]) -> Variable:
        f = {key.decode(): value for key, value in fields.items()}
        name, type_name = f["name"].decode(), f["type"].decode()
        return Variable(
            id=f["id"].decode(),
            name=name,
            type=type_name,
            value=self.decoded(type_name, name, f["value"].decode(), f["data"] or None),
            version=int(f["version"]),
            constraints=json.loads(f["constraints"]),
            metadata=json.loads(f["metadata"]),
            source=f["source"].decode(),
            created_at=float(f["created"]),
            updated_at=float(f["updated"]),
        )

    def _entry(self, variable: Variable, change: Any, *, keep_value: bool) -> bytes:
        """One packed record: a variable version, with its value when it is small enough (or asked for)."""
        fields = self._fields(variable)
        data = fields.pop("data")
        if not (keep_value or self.logged_value(fields["size"])):
            fields["value"], data = None, b""
        fields["change"] = dict(change)
        return pack(fields, data)

    def _unpacked(self, packed: bytes) -> tuple[dict[str, Any], Variable | None]:
        header, data = unpack(packed)
        if header["value"] is None:
            return header, None
        variable = Variable(
            id=header["id"],
            name=header["name"],
            type=header["type"],
            value=self.decoded(header["type"], header["name"], header["value"], data),
            version=header["version"],
            constraints=json.loads(header["constraints"]),
            metadata=json.loads(header["metadata"]),
            source=header["source"],
            created_at=float(header["created"]),
            updated_at=float(header["updated"]),
        )
        return header, variable

    def _log(self, pipe: Any, session_id: str, kind: str, entry: bytes) -> None:
        self._append_log(
            keys=[self._key("log"), self._key("log-seq")],
            args=[int(LOG_RETENTION_SECONDS), "s", session_id, "k", kind, "e", entry],
            client=pipe,
        )

    def _touch(self, pipe: Any, session_id: str, now: float) -> None:
        pipe.zadd(self._key("sessions"), {session_id: now}, gt=True)
        self.touched(session_id)

    def _seen(self, session_id: str) -> None:
        if self.needs_touch(session_id):
            try:
                with self._errors("reading"):
                    self._client.zadd(self._key("sessions"), {session_id: time.time()}, gt=True)
            except SnakepitError:
                pass

    def _transaction(self, keys: Sequence[str], body: Callable[[Any], Any]) -> Any:
        """Run ``body(pipe)`` (reads, then ``pipe.multi()`` and writes) until no watched key changed meanwhile."""
        with self._errors("writing"):
            for _ in range(TRANSACTION_ATTEMPTS):
                with self._client.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(*keys)
                        result = body(pipe)
                        pipe.execute()
                        return result
                    except self._redis.WatchError:
                        continue
        raise Unavailable(f"variables store redis at {self.url}: too much contention; nothing was written")

    # ------------------------------------------------------------ VariableStore

    def create(self, session_id: str, variable: Variable) -> Variable:
        key = self._variable_key(session_id, variable.name)

        def body(pipe: Any) -> Variable:
            existing = pipe.hmget(key, "type", "version")
            if existing[0] is not None:
                raise AlreadyExists(
                    f"variable '{variable.name}' already exists in session '{session_id}' "
                    f"(type {existing[0].decode()}, version {int(existing[1])})"
                )
            now = time.time()
            number = self._client.incr(self._key("ids-counter"))
            stored = replace(variable, id=f"var_{variable.name}_{number}", version=0, created_at=now, updated_at=now)
            pipe.multi()
            pipe.hset(key, mapping=self._fields(stored))
            pipe.hset(self._key("ids", session_id), stored.id, stored.name)
            pipe.lpush(self._key("h", stored.id), self._entry(stored, stored.metadata, keep_value=False))
            self._log(pipe, session_id, "registered", self._entry(stored, stored.metadata, keep_value=False))
            self._touch(pipe, session_id, now)
            return stored

        stored: Variable = self._transaction([key], body)
        self._maybe_sweep()
        return stored

    def _name_for(self, session_id: str, identifier: str) -> str:
        with self._errors("reading"):
            name = self._client.hget(self._key("ids", session_id), identifier)
        return name.decode() if name is not None else identifier

    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        return self.get_many(session_id, [identifier]).get(identifier)

    def get_many(self, session_id: str, identifiers: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        wanted = list(dict.fromkeys(identifiers))
        if not wanted:
            return {}
        with self._errors("reading"):
            names = self._client.hmget(self._key("ids", session_id), wanted)
            resolved = [n.decode() if n is not None else i for i, n in zip(wanted, names, strict=True)]
            with self._client.pipeline(transaction=False) as pipe:
                for name in resolved:
                    pipe.hgetall(self._variable_key(session_id, name))
                rows = pipe.execute()
        self._seen(session_id)
        return {i: self._variable(row) for i, row in zip(wanted, rows, strict=True) if row}

    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        matches = name_matcher(pattern)
        with self._errors("reading"):
            names = sorted(n.decode() for n in self._client.hvals(self._key("ids", session_id)))
            names = [n for n in names if matches(n)]
            with self._client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(self._variable_key(session_id, name))
                rows = pipe.execute()
        self._seen(session_id)
        return [self._variable(row) for row in rows if row]

    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        keys = [self._variable_key(session_id, write.name) for write in writes]

        def body(pipe: Any) -> VariableList:
            current = []
            for key, write in zip(keys, writes, strict=True):
                row = pipe.hgetall(key)
                if not row:
                    raise NotFound(f"unknown variable '{write.name}' (deleted meanwhile?)")
                variable = self._variable(row)
                check_write(variable, write)
                current.append(variable)
            now = time.time()
            updated = applied(current, writes, now)
            pipe.multi()
            for key, variable, write in zip(keys, updated, writes, strict=True):
                fields = self._fields(variable)
                pipe.hset(
                    key,
                    mapping={
                        k: fields[k] for k in ("value", "data", "size", "version", "metadata", "source", "updated")
                    },
                )
                history = self._key("h", variable.id)
                pipe.lpush(history, self._entry(variable, write.metadata, keep_value=False))
                pipe.ltrim(history, 0, self.history_limit - 1)
                self._log(pipe, session_id, "value_change", self._entry(variable, write.metadata, keep_value=False))
            self._touch(pipe, session_id, now)
            return updated

        updated: VariableList = self._transaction(keys, body)
        self._maybe_sweep()
        return updated

    def delete(self, session_id: str, identifier: str) -> Variable:
        name = self._name_for(session_id, identifier)
        key = self._variable_key(session_id, name)

        def body(pipe: Any) -> Variable:
            row = pipe.hgetall(key)
            if not row:
                raise NotFound(f"unknown variable '{identifier}' in session '{session_id}'")
            variable = self._variable(row)
            pipe.multi()
            pipe.delete(key, self._key("h", variable.id))
            pipe.hdel(self._key("ids", session_id), variable.id)
            self._log(pipe, session_id, "deleted", self._entry(variable, {}, keep_value=True))
            self._touch(pipe, session_id, time.time())
            return variable

        deleted: Variable = self._transaction([key], body)
        return deleted

    def has_session(self, session_id: str) -> bool:
        with self._errors("reading"):
            return self._client.zscore(self._key("sessions"), session_id) is not None

    def expire_session(self, session_id: str, unused_since: float) -> None:
        with self._errors("writing"):
            self._expire_script(keys=[self._key("sessions"), self.prefix], args=[session_id, unused_since])

    def _maybe_sweep(self) -> None:
        if not self.due_for_sweep():
            return
        since = time.time() - self.session_ttl
        try:
            with self._errors("sweeping"):
                idle = self._client.zrangebyscore(self._key("sessions"), "-inf", f"({since}", start=0, num=1000)
            for session_id in idle:
                self.expire_session(session_id.decode(), since)
        except SnakepitError as exc:
            log.warning("variables: sweeping the redis store failed: %s", exc)

    # ------------------------------------------------------------ history and log

    def history_entries(self, session_id: str, variable: Variable) -> EntryList:
        with self._errors("reading"):
            packed = self._client.lrange(self._key("h", variable.id), 0, self.history_limit - 1)
        entries = []
        for item in reversed(packed):
            header, version = self._unpacked(item)
            entries.append(
                HistoryEntry(
                    version=header["version"],
                    value=version.value if version is not None else None,
                    timestamp=float(header["updated"]),
                    source=header["source"],
                    metadata=header["change"],
                    value_kept=version is not None,
                    size=header["size"],
                )
            )
        return entries

    def log_cursor(self) -> tuple[bytes, int]:
        with self._errors("reading"), self._client.pipeline(transaction=True) as pipe:
            pipe.get(self._key("log-seq"))
            pipe.xrevrange(self._key("log"), count=1)
            seq, last = pipe.execute()
        return (last[0][0] if last else b"0-0"), int(seq or 0)

    def read_log(self, cursor: tuple[bytes, int]) -> tuple[LoggedChanges, tuple[bytes, int]]:
        stream_id, seq = cursor
        with self._errors("reading the change log"):
            answer = self._feed_client.xread({self._key("log"): stream_id}, count=LOG_BATCH, block=FEED_BLOCK_MS)
        entries = answer[0][1] if answer else []
        changes: LoggedChanges = []
        for entry_id, fields in entries:
            number = int(fields[b"seq"])
            if number != seq + 1:
                raise LogGap(
                    f"changes {seq + 1}-{number - 1} of the redis log were removed before this worker read them "
                    f"(it fell more than {LOG_RETENTION_SECONDS:g} s behind, or the server lost them)",
                    (stream_id, number - 1),  # the next read starts at this entry
                )
            stream_id, seq = entry_id, number
            session_id, kind = fields[b"s"].decode(), fields[b"k"].decode()
            header, variable = self._unpacked(fields[b"e"])
            if variable is None:  # too large for the log: read as it is now (coalesced)
                variable = self.get(session_id, header["id"])
            if variable is not None:
                changes.append(
                    (session_id, ChangeEvent(kind, variable, variable.source, variable.updated_at, header["change"]))
                )
        return changes, (stream_id, seq)

    def close(self) -> None:
        super().close()
        for client in (self._client, self._feed_client):
            try:
                client.close()
            except self._redis.RedisError:
                pass
