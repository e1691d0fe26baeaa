"""The ``elixir`` store: Snakepit 0.4.x's session store, through the BridgeServer's variable RPCs.

Elixir is authoritative (PROTOCOL.md §3.2, §5): it assigns ids and
versions and may change values on its own side. Python keeps a read cache
of decoded variables, trusted for ``cache_ttl`` seconds; after that a read
asks Elixir again and reuses the decoded value when the version is
unchanged, so a change made on the Elixir side is seen at the latest one
``cache_ttl`` after it happened. Python's writes go through to Elixir and
update the cache with the version Elixir returns.

Differences from the memory store, forced by 0.4.x:

* Elixir ignores ``expected_version``. This store emulates the check: it
  re-reads the variable (bypassing the cache) and writes under a
  per-session lock, which is exact against writers in this process; an
  Elixir-side write landing between that read and the write is not caught.
* Values are sent as JSON, never in the ``.binary`` form (Elixir 0.4.x
  accepts large JSON and cannot read our binary layouts). Elixir sends
  embeddings of 1 281 floats and more back as Erlang terms; they are read
  by the strict decoder of :mod:`snakepit_variables.erlang_terms`.
* Elixir knows only float, integer, string, boolean, choice, module,
  embedding and tensor. A variable of another type (list, dict, json, a
  third party's) is stored there as a ``string`` holding its JSON, with
  the real type and constraints in its metadata, so Python reads it back
  typed and Elixir code sees the JSON text.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from google.protobuf.any_pb2 import Any as AnyMessage

from snakepit_host import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    SnakepitError,
    Unimplemented,
    codec,
    pb,
)
from snakepit_variables import wire
from snakepit_variables.model import ELIXIR, PYTHON, ChangeEvent, Variable, Write
from snakepit_variables.stores import VariableList, VariableStore, check_write, name_matcher

if TYPE_CHECKING:
    from snakepit_host import ElixirClient, Host, ValueType

ELIXIR_TYPES = frozenset({"float", "integer", "string", "boolean", "choice", "module", "embedding", "tensor"})
TYPE_KEY = "snakepit_type"
CONSTRAINTS_KEY = "snakepit_constraints"
CREATED_KEY = "snakepit_created_at"
_INTERNAL_KEYS = (TYPE_KEY, CONSTRAINTS_KEY, CREATED_KEY)
VersionList = list[int]
PLAUSIBLE_UNIX_TIME = 1e9
"""Elixir 0.4.x stamps variables with BEAM monotonic seconds; smaller values are not wall-clock times."""


@dataclass
class _Cached:
    variable: Variable
    checked_at: float


class ElixirStore(VariableStore):
    name = "elixir"
    changes_elsewhere = True

    def __init__(self, host: Host, cache_ttl: float) -> None:
        super().__init__()
        client = host.elixir
        if client is None:
            raise FailedPrecondition("the elixir store needs the Elixir address (--elixir-address)")
        self._client: ElixirClient = client
        self._types = host.registry.types
        self.cache_ttl = cache_ttl
        self._cache: dict[str, dict[str, _Cached]] = {}
        self._lock = threading.Lock()
        self._write_locks: dict[str, threading.Lock] = {}

    # ------------------------------------------------------------ plumbing

    def _call(self, session_id: str, method: str, request: Any, *, refusal: str | None = None) -> Any:
        """Call Elixir for a session it knows; with ``refusal``, Elixir's INTERNAL answers become InvalidArgument.

        (Elixir 0.4.x reports a broken type or constraint rule as INTERNAL.)
        """
        try:
            return self._client.call_in_session(session_id, method, request)
        except SnakepitError as exc:
            if refusal is not None and exc.status == "INTERNAL":
                raise InvalidArgument(f"{refusal}: Elixir refused it: {exc}") from None
            raise

    def _value_type(self, type_name: str) -> ValueType:
        entry = self._types.get(type_name)
        if entry is None:
            raise InvalidArgument(f"Elixir holds a variable of type {type_name!r}, which no plugin registered")
        return entry.value_type

    def _cached(self, session_id: str, identifier: str) -> _Cached | None:
        table = self._cache.get(session_id, {})
        entry = table.get(identifier)
        if entry is None and identifier.startswith("var_"):
            entry = next((e for e in table.values() if e.variable.id == identifier), None)
        return entry

    def _remember(self, session_id: str, variable: Variable) -> None:
        with self._lock:
            table = self._cache.setdefault(session_id, {})
            current = table.get(variable.name)
            newer = (
                current is None or current.variable.id != variable.id or variable.version >= current.variable.version
            )
            if newer:
                table[variable.name] = _Cached(variable, time.monotonic())

    def _forget(self, session_id: str, name: str) -> None:
        with self._lock:
            self._cache.get(session_id, {}).pop(name, None)

    # ------------------------------------------------------------ encoding

    def _outgoing(self, variable: Variable) -> tuple[str, AnyMessage, str, dict[str, str]]:
        """(Elixir type, value, constraints_json, extra metadata) for Elixir's store."""
        value_type = self._value_type(variable.type)
        data = getattr(value_type, "to_json", lambda v: _json_only(variable.type, value_type, v))(variable.value)
        constraints_json = json.dumps(dict(variable.constraints), separators=(",", ":"))
        if variable.type in ELIXIR_TYPES:
            return variable.type, _any(variable.type, data), constraints_json, {}
        text = json.dumps(data, separators=(",", ":"))
        return "string", _any("string", text), "{}", {TYPE_KEY: variable.type, CONSTRAINTS_KEY: constraints_json}

    def _incoming(self, message: pb.Variable) -> Variable:
        metadata = dict(message.metadata)
        type_name = metadata.get(TYPE_KEY, message.type)
        value_type = self._value_type(type_name)
        try:
            if TYPE_KEY in metadata:
                raw = value_type.from_wire(json.loads(json.loads(message.value.value)), None)
                constraints = json.loads(metadata.get(CONSTRAINTS_KEY) or "{}")
            else:
                raw = wire.decode_value(message.value, message.binary_value, value_type)
                constraints = json.loads(message.constraints_json or "{}")
            value = value_type.validate(raw, {})
        except (ValueError, SnakepitError) as exc:
            raise InvalidArgument(f"{message.name}: the value Elixir holds cannot be read: {exc}") from None
        now = time.time()
        updated = message.last_updated_at.ToNanoseconds() / 1e9
        updated = updated if updated > PLAUSIBLE_UNIX_TIME else now
        created = float(metadata.get(CREATED_KEY) or updated)
        return Variable(
            id=message.id,
            name=message.name,
            type=type_name,
            value=value,
            version=message.version,
            constraints=constraints if isinstance(constraints, dict) else {},
            metadata={k: v for k, v in metadata.items() if k not in _INTERNAL_KEYS},
            source=PYTHON if message.source == pb.Variable.PYTHON else ELIXIR,
            created_at=created,
            updated_at=updated,
        )

    def _absorb(self, session_id: str, message: pb.Variable) -> Variable:
        """Cache what Elixir returned (decoding only when the version moved); report outside changes."""
        with self._lock:
            entry = self._cached(session_id, message.name)
            if entry is not None and entry.variable.id == message.id and entry.variable.version == message.version:
                entry.checked_at = time.monotonic()
                return entry.variable
        variable = self._incoming(message)
        self._remember(session_id, variable)
        if entry is not None and entry.variable.id == message.id and message.version > entry.variable.version:
            self.external_change(session_id, ChangeEvent("value_change", variable, variable.source, time.time()))
        return variable

    # ------------------------------------------------------------ VariableStore

    def create(self, session_id: str, variable: Variable) -> Variable:
        elixir_type, value, constraints_json, extra = self._outgoing(variable)
        now = time.time()
        metadata = {**variable.metadata, **extra, CREATED_KEY: repr(now), "source": variable.source.lower()}
        request = pb.RegisterVariableRequest(
            session_id=session_id,
            name=variable.name,
            type=elixir_type,
            initial_value=value,
            constraints_json=constraints_json,
            metadata=metadata,
        )
        response = self._call(session_id, "RegisterVariable", request, refusal=variable.name)
        if not response.success:
            error = response.error_message or "no reason given"
            cls = AlreadyExists if "exist" in error.lower() else InvalidArgument
            raise cls(f"{variable.name}: Elixir refused it: {error}")
        stored = replace(variable, id=response.variable_id, version=0, created_at=now, updated_at=now)
        self._remember(session_id, stored)
        return stored

    def get(self, session_id: str, identifier: str, *, fresh: bool = False) -> Variable | None:
        with self._lock:
            entry = self._cached(session_id, identifier)
        if entry is not None and not fresh and time.monotonic() - entry.checked_at < self.cache_ttl:
            return entry.variable
        request = pb.GetVariableRequest(session_id=session_id, variable_identifier=identifier, bypass_cache=fresh)
        try:
            response = self._call(session_id, "GetVariable", request)
        except NotFound:
            if entry is not None:
                self._forget(session_id, entry.variable.name)
            return None
        return self._absorb(session_id, response.variable)

    def get_many(self, session_id: str, identifiers: Iterable[str], *, fresh: bool = False) -> dict[str, Variable]:
        identifiers = list(identifiers)
        found: dict[str, Variable] = {}
        now = time.monotonic()
        with self._lock:
            for identifier in identifiers:
                entry = self._cached(session_id, identifier)
                if entry is not None and not fresh and now - entry.checked_at < self.cache_ttl:
                    found[identifier] = entry.variable
        needed = [i for i in identifiers if i not in found]
        if needed:
            request = pb.BatchGetVariablesRequest(
                session_id=session_id, variable_identifiers=needed, bypass_cache=fresh
            )
            response = self._call(session_id, "GetVariables", request)
            for identifier, message in response.variables.items():
                found[identifier] = self._absorb(session_id, message)
        return {i: found[i] for i in identifiers if i in found}

    def list(self, session_id: str, pattern: str | None = None) -> VariableList:
        request = pb.ListVariablesRequest(session_id=session_id, pattern=pattern or "")
        response = self._call(session_id, "ListVariables", request)
        matches = name_matcher(pattern)
        variables = [self._absorb(session_id, m) for m in response.variables if matches(m.name)]
        return sorted(variables, key=lambda v: v.name)

    def commit(self, session_id: str, writes: Sequence[Write]) -> VariableList:
        with self._lock:
            lock = self._write_locks.setdefault(session_id, threading.Lock())
        with lock:
            current: VariableList = []
            for write in writes:
                variable = self.get(session_id, write.name, fresh=write.expected_version is not None)
                if variable is None:
                    raise NotFound(f"unknown variable '{write.name}' in session '{session_id}'")
                check_write(variable, write)
                current.append(variable)
            versions = self._send(session_id, current, writes)
            now = time.time()
            updated = [
                replace(
                    old,
                    value=write.value,
                    version=version,
                    metadata={**old.metadata, **write.metadata},
                    source=write.source,
                    updated_at=now,
                )
                for old, write, version in zip(current, writes, versions, strict=True)
            ]
            for variable in updated:
                self._remember(session_id, variable)
        return updated

    def _send(self, session_id: str, current: VariableList, writes: Sequence[Write]) -> VersionList:
        """Write through to Elixir; the new versions, in order."""
        metadata = {**writes[0].metadata, "source": writes[0].source.lower()}
        values = [self._outgoing(replace(old, value=w.value))[1] for old, w in zip(current, writes, strict=True)]
        if len(writes) == 1:
            request = pb.SetVariableRequest(
                session_id=session_id,
                variable_identifier=current[0].id,
                value=values[0],
                metadata=metadata,
                expected_version=writes[0].expected_version or 0,
            )
            response = self._call(session_id, "SetVariable", request, refusal=writes[0].name)
            if not response.success:
                raise InvalidArgument(f"{writes[0].name}: Elixir refused it: {response.error_message}")
            return [response.new_version]
        batch = pb.BatchSetVariablesRequest(session_id=session_id, metadata=metadata, atomic=True)
        for old, value in zip(current, values, strict=True):
            batch.updates[old.id].CopyFrom(value)
        answer = self._call(session_id, "SetVariables", batch, refusal="batch")
        if not answer.success:
            raise InvalidArgument(
                "Elixir refused the batch: " + "; ".join(f"{k}: {v}" for k, v in answer.errors.items())
            )
        return [answer.new_versions[old.id] for old in current]

    def delete(self, session_id: str, identifier: str) -> Variable:
        variable = self.get(session_id, identifier)
        if variable is None:
            raise NotFound(f"unknown variable '{identifier}' in session '{session_id}'")
        request = pb.DeleteVariableRequest(session_id=session_id, variable_identifier=variable.id)
        self._call(session_id, "DeleteVariable", request)
        self._forget(session_id, variable.name)
        return variable

    def has_session(self, session_id: str) -> bool:
        try:
            self._client.call("GetSession", pb.GetSessionRequest(session_id=session_id))
        except (NotFound, Unimplemented):
            return False
        return True

    def drop_session(self, session_id: str) -> None:
        with self._lock:
            self._cache.pop(session_id, None)
            self._write_locks.pop(session_id, None)

    def location(self) -> str:
        return f"Elixir at {self._client.address}"

    def describe(self) -> dict[str, Any]:
        with self._lock:
            cached = sum(len(table) for table in self._cache.values())
        return {
            "name": self.name,
            "address": self._client.address,
            "cache_ttl_seconds": self.cache_ttl,
            "cached": cached,
        }


def _any(type_name: str, data: Any) -> AnyMessage:
    return AnyMessage(type_url=codec.SNAKEPIT_URL_PREFIX + type_name, value=codec.to_json_bytes(data))


def _json_only(type_name: str, value_type: ValueType, value: Any) -> Any:
    data, binary = value_type.to_wire(value)
    if binary is not None:
        raise InvalidArgument(f"type {type_name} sent its value as binary, which Elixir's store cannot hold")
    return data
