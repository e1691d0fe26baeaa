"""The ``redis`` store: variables shared by workers on several machines (Snakepit over BEAM nodes).

Needs the ``redis`` client package (``pip install 'snakepit-variables[redis]'``),
imported only when this store is chosen. Each commit is one Lua script
(atomic on the server): it checks that every variable it writes is still
the version this worker read and validated, then writes the new values,
their history entries and their change-log entries together. When another
worker got in first, the commit is prepared again from the new versions (a
stale ``expected_version`` is then a Conflict), so the checks hold across
workers and a batch lands whole or not at all. The change log is a Redis
stream with a sequence number in each entry, so a worker that reads it can
tell when entries were trimmed before it read them.

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

import re
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
from snakepit_variables.history import HISTORY_VARIABLE_BYTES
from snakepit_variables.model import ChangeEvent, HistoryEntry, Variable, Write
from snakepit_variables.shared_store import LOG_RETENTION_SECONDS, LogGap, LoggedChanges, SharedStore, log
from snakepit_variables.stored_values import pack, unpack
from snakepit_variables.stores import EntryList, VariableList, applied, check_write, name_matcher

if TYPE_CHECKING:
    from snakepit_host import ValueType

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0
FEED_BLOCK_MS = 1000
LOG_BATCH = 500
Found = list[Variable | None]
_ID = re.compile(r"^var_(.+)_[0-9]+$")
COMMIT_ATTEMPTS = 1000
"""Times a commit is prepared again after other workers got in first (a guard against livelock)."""

_PRELUDE = """
local prefix, session, now, retention = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function append_log(kind, entry)
    local seq = redis.call('INCR', prefix .. ':log-seq')
    local clock = redis.call('TIME')
    local oldest = tostring((tonumber(clock[1]) - tonumber(retention)) * 1000) .. '-0'
    redis.call('XADD', prefix .. ':log', 'MINID', '~', oldest, '*', 'seq', seq, 's', session, 'k', kind, 'e', entry)
end
local function touch()
    redis.call('ZADD', prefix .. ':sessions', 'GT', now, session)
end
-- History of a variable: entries newest first, and beside them the size of each kept value (0: not kept).
-- Past the byte budget, the oldest kept values are dropped (the entry keeps its header).
local function push_history(id, entry, size, limit, budget)
    local history, sizes = prefix .. ':h:' .. id, prefix .. ':hs:' .. id
    redis.call('LPUSH', history, entry)
    redis.call('LPUSH', sizes, size)
    redis.call('LTRIM', history, 0, limit - 1)
    redis.call('LTRIM', sizes, 0, limit - 1)
    local total = 0
    local all = redis.call('LRANGE', sizes, 0, -1)
    for i = 1, #all do
        local n = tonumber(all[i])
        if n > 0 then
            total = total + n
            if total > budget then
                local kept = redis.call('LINDEX', history, i - 1)
                local header = string.sub(kept, 1, string.find(kept, '\\n', 1, true) - 1)
                header = string.gsub(header, ',"kept":true}$', ',"kept":false}')
                redis.call('LSET', history, i - 1, header .. '\\n\\n')
                redis.call('LSET', sizes, i - 1, 0)
            end
        end
    end
end
"""
_CREATE = (
    _PRELUDE
    + """
-- ARGV[5] id, [6] name, [7] check ("id:version"), [8] record, [9] entry ('' = the record),
-- [10] size of the value history keeps (0: none), [11] history limit, [12] history byte budget.
-- Returns 0, or the record of the variable that already has this name.
local existing = redis.call('HGET', KEYS[1], 'r')
if existing then return existing end
redis.call('HSET', KEYS[1], 'v', ARGV[7], 'r', ARGV[8])
redis.call('HSET', prefix .. ':ids:' .. session, ARGV[5], ARGV[6])
local entry = ARGV[9]
if entry == '' then entry = ARGV[8] end
push_history(ARGV[5], entry, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
append_log('registered', entry)
touch()
return 0
"""
)
_COMMIT = (
    _PRELUDE
    + """
-- ARGV[5] history limit, [6] history byte budget, then per key: id, check read, new check, record,
-- entry ('' = the record), size of the value history keeps (0: none).
-- Returns 0, or the (1-based) index of a variable that changed since it was read.
local per, limit, budget = 6, tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, #KEYS do
    if redis.call('HGET', KEYS[i], 'v') ~= ARGV[6 + (i - 1) * per + 2] then return i end
end
for i = 1, #KEYS do
    local b = 6 + (i - 1) * per
    redis.call('HSET', KEYS[i], 'v', ARGV[b + 3], 'r', ARGV[b + 4])
    local entry = ARGV[b + 5]
    if entry == '' then entry = ARGV[b + 4] end
    push_history(ARGV[b + 1], entry, tonumber(ARGV[b + 6]), limit, budget)
    append_log('value_change', entry)
end
touch()
return 0
"""
)
_DELETE = (
    _PRELUDE
    + """
-- ARGV[5] id, [6] check read, [7] record. Returns 1 when the variable changed since it was read.
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[6] then return 1 end
redis.call('DEL', KEYS[1], prefix .. ':h:' .. ARGV[5], prefix .. ':hs:' .. ARGV[5])
redis.call('HDEL', prefix .. ':ids:' .. session, ARGV[5])
append_log('deleted', ARGV[7])
touch()
return 0
"""
)
_EXPIRE_SESSION = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= tonumber(ARGV[2]) then return 0 end
local ids = KEYS[2] .. ':ids:' .. ARGV[1]
local pairs = redis.call('HGETALL', ids)
for i = 1, #pairs, 2 do
    local id = pairs[i]
    local variable = KEYS[2] .. ':v:' .. ARGV[1] .. ':' .. pairs[i + 1]
    redis.call('DEL', variable, KEYS[2] .. ':h:' .. id, KEYS[2] .. ':hs:' .. id)
end
redis.call('DEL', ids)
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""


def _name_in_id(identifier: str) -> str | None:
    """The name an id (``var_<name>_<n>``) was made from, or None when it is not shaped like one."""
    match = _ID.match(identifier)
    return match.group(1) if match else None


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
        self._create_script = self._client.register_script(_CREATE)
        self._commit_script = self._client.register_script(_COMMIT)
        self._delete_script = self._client.register_script(_DELETE)
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

    def _packed(self, variable: Variable, change: Any = None) -> tuple[bytes, bytes, int]:
        """The record of a version (with its value), what history and the log keep (b"": the record itself),
        and the size of the value they keep (0: none)."""
        text, data, size = self.encoded(variable)
        header = {
            "id": variable.id,
            "name": variable.name,
            "type": variable.type,
            "size": size,
            "version": variable.version,
            "constraints": dict(variable.constraints),
            "metadata": dict(variable.metadata),
            "source": variable.source,
            "created": variable.created_at,
            "updated": variable.updated_at,
            "change": dict(change or {}),
        }
        if self.logged_value(size):
            return pack(header, text, data), b"", size
        return pack(header, text, data), pack(header, None, None), 0

    def _loaded(self, packed: bytes, *, with_value: bool = True) -> tuple[dict[str, Any], Variable | None]:
        """The header of a record, and the variable it holds (None when its value was not kept).

        ``with_value=False`` skips decoding the value (a commit replaces it).
        """
        header, text, data = unpack(packed)
        if text is None:
            return header, None
        variable = Variable(
            id=header["id"],
            name=header["name"],
            type=header["type"],
            value=self.decoded(header["type"], header["name"], text, data) if with_value else None,
            version=header["version"],
            constraints=header["constraints"],
            metadata=header["metadata"],
            source=header["source"],
            created_at=header["created"],
            updated_at=header["updated"],
        )
        return header, variable

    def _variable(self, packed: bytes, *, with_value: bool = True) -> Variable:
        variable = self._loaded(packed, with_value=with_value)[1]
        assert variable is not None  # a variable's own record always keeps its value
        return variable

    @staticmethod
    def _check(variable: Variable) -> str:
        """What the scripts compare to tell whether a variable changed since it was read."""
        return f"{variable.id}:{variable.version}"

    def _run(self, script: Any, keys: Sequence[str], session_id: str, now: float, *args: Any) -> Any:
        """Run a write script (its first arguments are the ones the prelude reads)."""
        with self._errors("writing"):
            result = script(keys=list(keys), args=[self.prefix, session_id, now, int(LOG_RETENTION_SECONDS), *args])
        self.touched(session_id)
        return result

    def _seen(self, session_id: str) -> None:
        if self.needs_touch(session_id):
            try:
                with self._errors("reading"):
                    self._client.zadd(self._key("sessions"), {session_id: time.time()}, gt=True)
            except SnakepitError:
                pass

    def _attempts(self) -> range:
        return range(COMMIT_ATTEMPTS)

    def _contention(self) -> Unavailable:
        return Unavailable(f"variables store redis at {self.url}: too much contention; nothing was written")

    # ------------------------------------------------------------ VariableStore

    def create(self, session_id: str, variable: Variable) -> Variable:
        with self._errors("writing"):
            number = self._client.incr(self._key("ids-counter"))
        now = time.time()
        stored = replace(variable, id=f"var_{variable.name}_{number}", version=0, created_at=now, updated_at=now)
        key = self._variable_key(session_id, variable.name)
        packed = self._packed(stored, stored.metadata)
        args = (stored.id, stored.name, self._check(stored), *packed, self.history_limit, HISTORY_VARIABLE_BYTES)
        existing = self._run(self._create_script, [key], session_id, now, *args)
        if existing != 0:
            header = self._loaded(existing)[0]
            raise AlreadyExists(
                f"variable '{variable.name}' already exists in session '{session_id}' "
                f"(type {header['type']}, version {header['version']})"
            )
        self._maybe_sweep()
        return stored

    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        return self.get_many(session_id, [identifier]).get(identifier)

    def get_many(self, session_id: str, identifiers: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        """One round trip: each identifier read as a name and, when it looks like an id, as the id of its name."""
        wanted = list(dict.fromkeys(identifiers))
        if not wanted:
            return {}
        named_in_id = [_name_in_id(identifier) for identifier in wanted]
        with self._errors("reading"), self._client.pipeline(transaction=False) as pipe:
            for identifier, name in zip(wanted, named_in_id, strict=True):
                pipe.hget(self._variable_key(session_id, identifier), "r")
                if name is not None:
                    pipe.hget(self._variable_key(session_id, name), "r")
            records = iter(pipe.execute())
        found = {}
        for identifier, name in zip(wanted, named_in_id, strict=True):
            as_name = next(records)
            as_id = next(records) if name is not None else None
            variable = self._variable(as_id) if as_id is not None else None
            if variable is not None and variable.id == identifier:  # an id wins over a name
                found[identifier] = variable
            elif as_name is not None:
                found[identifier] = self._variable(as_name)
        self._seen(session_id)
        return found

    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        matches = name_matcher(pattern)
        with self._errors("reading"):
            names = sorted(n.decode() for n in self._client.hvals(self._key("ids", session_id)))
            names = [n for n in names if matches(n)]
            with self._client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hget(self._variable_key(session_id, name), "r")
                records = pipe.execute()
        self._seen(session_id)
        return [self._variable(record) for record in records if record is not None]

    def _current(self, session_id: str, names: Sequence[str]) -> Found:
        """The variables a commit is about to replace (values not decoded)."""
        with self._errors("reading"), self._client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hget(self._variable_key(session_id, name), "r")
            records = pipe.execute()
        return [self._variable(r, with_value=False) if r is not None else None for r in records]

    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        keys = [self._variable_key(session_id, write.name) for write in writes]
        for _ in self._attempts():
            current = []
            for variable, write in zip(self._current(session_id, [w.name for w in writes]), writes, strict=True):
                if variable is None:
                    raise NotFound(f"unknown variable '{write.name}' (deleted meanwhile?)")
                check_write(variable, write)
                current.append(variable)
            now = time.time()
            updated = applied(current, writes, now)
            args: list[Any] = [self.history_limit, HISTORY_VARIABLE_BYTES]
            for old, variable, write in zip(current, updated, writes, strict=True):
                args += [variable.id, self._check(old), self._check(variable), *self._packed(variable, write.metadata)]
            if self._run(self._commit_script, keys, session_id, now, *args) == 0:
                self._maybe_sweep()
                return updated
        raise self._contention()

    def delete(self, session_id: str, identifier: str) -> Variable:
        for _ in self._attempts():
            variable = self.get(session_id, identifier)
            if variable is None:
                raise NotFound(f"unknown variable '{identifier}' in session '{session_id}'")
            key = self._variable_key(session_id, variable.name)
            args = (variable.id, self._check(variable), self._packed(variable)[0])
            if self._run(self._delete_script, [key], session_id, time.time(), *args) == 0:
                return variable
        raise self._contention()

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
            header, version = self._loaded(item)
            entries.append(
                HistoryEntry(
                    version=header["version"],
                    value=version.value if version is not None else None,
                    timestamp=header["updated"],
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
            header, variable = self._loaded(fields[b"e"])
            if variable is None:  # too large for the log: read as it is now (coalesced)
                variable = self.get(session_id, header["id"])
            if variable is not None:
                changes.append(
                    (session_id, ChangeEvent(kind, variable, variable.source, variable.updated_at, header["change"]))
                )
        return changes, (stream_id, seq)
