"""The sqlite and redis stores: the memory store's semantics, shared by two hosts (real SQLite file, real Redis)."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np
import pytest
import snakepit_variables.plugin as variables_plugin
from snakepit_variables import variables_for
from snakepit_variables.host_state import runtime_for
from snakepit_variables.redis_store import RedisStore
from snakepit_variables.session_variables import BatchError
from snakepit_variables.shared_store import LogGap, SharedStore
from snakepit_variables.testing import VariableRpcs, watch_updates
from snakepit_variables.watch import WatchLagged

from snakepit_host import SnakepitError
from snakepit_host.codec import BINARY_MAGIC
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host, wait_until

SESSION = "s1"
TIMEOUT = 10.0


@contextmanager
def host(options: dict[str, Any], **config: Any) -> Iterator[RunningHost]:
    with running_host(variables_plugin, options=options, **config) as handle:
        yield handle


def scenario(running: RunningHost) -> list[Any]:
    """Everything a caller can observe of a sequence of variable operations (compared across stores)."""
    v = variables_for(running.host, SESSION)
    seen: list[Any] = []

    def attempt(function: Any, *args: Any, **kwargs: Any) -> None:
        try:
            seen.append(function(*args, **kwargs))
        except SnakepitError as exc:
            seen.append((exc.status, str(exc)))

    seen.append(v.register("temperature", "float", 0.5, constraints={"min": 0, "max": 1}).version)
    attempt(v.set, "temperature", 1.5)
    seen.append(v.set("temperature", 0.7, metadata={"why": "warmer"}))
    attempt(v.set, "temperature", 0.8, expected_version=0)
    seen.append(v.set("temperature", 0.9, expected_version=1))
    v.register("top_p", "float", 0.9)
    v.register("label", "string", "a", constraints={"max_length": 3})
    attempt(v.set_many, {"top_p": 0.5, "label": "toolong"})
    seen.append(v.get_many(["top_p", "label", "missing"]))
    seen.append(v.set_many({"top_p": 0.4, "label": "b"}))
    temperature = v.get_variable("temperature")
    attempt(v.set_many, {"temperature": 0.1, temperature.id: 0.2})
    seen.append([(e.version, e.value, dict(e.metadata), e.value_kept) for e in v.history("temperature")])
    seen.append(v.rollback("temperature", 1).value)
    seen.append([(e.version, e.value) for e in v.history("temperature", limit=2)])
    seen.append([(x.name, x.version, x.type) for x in v.list("t*")])
    v.register("nan", "float", math.nan)
    seen.append(math.isnan(v.get("nan")))
    v.register("config", "dict", {"a": [1, 2, {"b": None}]})
    config = v.get("config")
    config["a"].append(3)  # a reader's own copy
    seen.append(v.get("config"))
    v.register("e", "embedding", np.arange(4, dtype=np.float32))
    v.register("t", "tensor", np.ones((64, 64), dtype=np.float64))
    embedding, tensor = v.get("e"), v.get("t")
    seen.append((embedding.dtype.name, embedding.tolist(), embedding.flags.writeable, tensor.shape, tensor.sum()))
    attempt(v.register, "temperature", "float", 0.1)
    v.delete("top_p")
    attempt(v.get, "top_p")
    again = v.register("top_p", "integer", 3)
    seen.append((again.version, again.id != temperature.id, v.get("top_p")))
    seen.append(v.get_variable("temperature").metadata)
    return seen


def test_semantics_are_the_memory_store_s(shared_store: dict[str, Any]) -> None:
    with host({"variables_store": "memory"}) as memory:
        expected = scenario(memory)
    with host(shared_store) as shared:
        got = scenario(shared)
    assert got == expected
    assert [x for x in got if isinstance(x, tuple) and isinstance(x[0], str) and x[0].isupper()] == [
        ("INVALID_ARGUMENT", "temperature: 1.5 is above max 1.0"),
        ("ABORTED", "temperature: expected version 0 but it is at version 1; nothing was changed"),
        (
            "INVALID_ARGUMENT",
            "1 update(s) failed (nothing was changed): label: length 7 is above max_length 3 characters",
        ),
        (
            "INVALID_ARGUMENT",
            "1 update(s) failed (nothing was changed): var_temperature_1 and temperature name the same variable "
            "(temperature); set it once per batch",
        ),
        ("ALREADY_EXISTS", "variable 'temperature' already exists in session 's1' (type float, version 3)"),
        ("NOT_FOUND", "unknown variable 'top_p' in session 's1'"),
    ]


def test_a_write_in_one_host_is_read_and_watched_in_the_other_in_order(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as first, host(shared_store) as second:
        writer = VariableRpcs(first.client().stub, SESSION)
        reader = VariableRpcs(second.client().stub, SESSION)
        writer.register("temperature", "float", 0.5)
        assert reader.value("temperature") == 0.5, "the second host adopts the session the store knows"
        stream, updates = watch_updates(second.client().stub, SESSION, ["temp*"], include_initial=True)
        first_update = updates.get(timeout=TIMEOUT)
        assert (first_update.update_type, first_update.variable.version) == ("initial_value", 0)
        for step in range(1, 21):
            assert writer.set("temperature", step / 100) == step
        writer.register("temp2", "integer", 7)
        seen = [updates.get(timeout=TIMEOUT) for _ in range(21)]
        assert [(u.update_type, u.variable.name, u.variable.version) for u in seen] == [
            *(("value_change", "temperature", step) for step in range(1, 21)),
            ("registered", "temp2", 0),
        ]
        VariableRpcs(first.client().stub, SESSION).stub.DeleteVariable(
            pb.DeleteVariableRequest(session_id=SESSION, variable_identifier="temp2")
        )
        deleted = updates.get(timeout=TIMEOUT)
        assert (deleted.update_type, deleted.variable.name) == ("deleted", "temp2")
        stream.cancel()
        assert reader.set("temperature", 0.99) == 21
        assert writer.value("temperature") == 0.99
        history = variables_for(first.host, SESSION).history("temperature")
        assert [e.version for e in history][-3:] == [19, 20, 21]


def test_this_host_s_own_writes_reach_its_watchers_once_and_in_order(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as running:
        v = variables_for(running.host, SESSION)
        v.register("x", "integer", 0)
        with v.watch("x", include_initial=True) as changes:
            for value in range(1, 51):
                v.set("x", value)
            seen = [changes.get(TIMEOUT) for _ in range(51)]
            assert changes.get(0.2) is None, "no event twice"
        assert [(e.kind, e.variable.version) for e in seen if e is not None] == [
            ("initial_value", 0),
            *(("value_change", n) for n in range(1, 51)),
        ]
        assert runtime_for(running.host).store.describe()["watch_feed"] == 0, "the feed stops with its last watch"


def test_batches_are_atomic_across_hosts(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as first, host(shared_store) as second:
        a, b = variables_for(first.host, SESSION), None
        a.register("x", "integer", 0)
        a.register("y", "integer", 0)
        b = variables_for(second.host, SESSION, create=False)
        stop = threading.Event()
        torn: list[tuple[int, int]] = []

        def read() -> None:
            while not stop.is_set():
                got = b.get_many(["x", "y"])
                if got["x"] != got["y"]:
                    torn.append((got["x"], got["y"]))

        reader = threading.Thread(target=read)
        reader.start()
        for n in range(1, 41):
            assert b.set_many({"x": n, "y": n}) == {"x": n, "y": n}
            assert a.get("x") == n
        stop.set()
        reader.join(TIMEOUT)
        assert torn == []
        with pytest.raises(BatchError):
            b.set_many({"x": 100, "y": "not a number"})
        assert a.get_many(["x", "y"]) == {"x": 40, "y": 40}


def test_arrays_are_stored_as_raw_bytes(shared_store: dict[str, Any], redis_server: Any, tmp_path: Any) -> None:
    array = np.arange(100_000, dtype=np.float32)
    with host(shared_store) as running:
        v = variables_for(running.host, SESSION)
        v.register("big", "tensor", array)
        stored = runtime_for(running.host).store
        if shared_store["variables_store"] == "sqlite":
            with sqlite3.connect(shared_store["variables_sqlite_path"]) as db:
                value, data = db.execute("SELECT value, data FROM variables WHERE name = 'big'").fetchone()
        else:
            import redis
            from snakepit_variables.stored_values import unpack

            assert isinstance(stored, RedisStore)
            record = redis.Redis.from_url(redis_server.url).hget(f"{stored.prefix}:v:{SESSION}:big", "r")
            assert isinstance(record, bytes)
            _, value, data = unpack(record)
        assert value == "null" and data.startswith(BINARY_MAGIC)
        assert len(data) - array.nbytes < 64, "the raw little-endian bytes and a small header, no base64 or pickle"
        assert data.endswith(array.tobytes())
        assert np.array_equal(v.get("big"), array) and v.get("big").dtype == np.float32


def test_history_keeps_large_values_as_metadata_only(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as running:
        v = variables_for(running.host, SESSION)
        v.register("text", "string", "")
        for n in range(1, 4):
            v.set("text", str(n) * (2 * 1024 * 1024))
        for n in range(4, 12):
            v.set("text", str(n % 10) * (600 * 1024))
        history = v.history("text")
        assert [e.version for e in history] == list(range(12))
        assert [e.value_kept for e in history[1:4]] == [False, False, False], "values over 1 MiB: metadata only"
        kept = [e for e in history if e.value_kept and e.version]
        assert sum(e.size for e in kept) <= 4 * 1024 * 1024 and [e.version for e in kept] == [6, 7, 8, 9, 10, 11]
        with pytest.raises(SnakepitError, match="was not kept"):
            v.rollback("text", 5)
        assert v.rollback("text", 6).value == "6" * (600 * 1024)


def test_a_change_too_large_for_the_log_still_reaches_watchers(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as first, host(shared_store) as second:
        variables_for(first.host, SESSION).register("blob", "string", "")
        watcher = variables_for(second.host, SESSION, create=False)
        with watcher.watch("blob") as changes:
            variables_for(first.host, SESSION).set("blob", "x" * (3 * 1024 * 1024))
            event = changes.get(TIMEOUT)
        assert event is not None and event.variable.version == 1 and len(event.variable.value) == 3 * 1024 * 1024


def test_session_expiry_removes_the_session_from_the_store_unless_another_host_uses_it(
    shared_store: dict[str, Any],
) -> None:
    with host(shared_store, session_ttl=0.6) as first, host(shared_store, session_ttl=0.6) as second:
        variables_for(first.host, "kept").register("x", "integer", 1)
        variables_for(first.host, "gone").register("x", "integer", 1)
        store = runtime_for(second.host).store
        assert store.has_session("kept") and store.has_session("gone")
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # "kept" stays in use in the second host
            variables_for(second.host, "kept", create=False).set("x", 2)
            time.sleep(0.1)
            if not first.host.sessions.ids():
                break
        assert first.host.sessions.ids() == [], "the first host expired its sessions"
        wait_until(lambda: not store.has_session("gone"), "the store forgets the expired session")
        assert store.has_session("kept") and store.get("kept", "x") is not None
        assert store.get("gone", "x") is None


def test_a_gap_in_the_log_ends_watches_with_data_loss(shared_store: dict[str, Any], redis_server: Any) -> None:
    with host(shared_store) as running:
        v = variables_for(running.host, SESSION)
        v.register("x", "integer", 0)
        store = runtime_for(running.host).store
        assert isinstance(store, SharedStore)
        cursor = store.log_cursor()
        v.set("x", 1)
        v.set("x", 2)
        if shared_store["variables_store"] == "sqlite":
            with sqlite3.connect(shared_store["variables_sqlite_path"]) as db:
                db.execute("DELETE FROM log WHERE version = 1")
        else:
            import redis

            assert isinstance(store, RedisStore)
            client = redis.Redis.from_url(redis_server.url)
            log_key = f"{store.prefix}:log"
            entries = client.xrange(log_key, count=2)
            assert entries is not None
            [_, (second, _)] = entries
            assert second is not None
            client.xdel(log_key, second)
        with pytest.raises(LogGap, match="removed before this worker read them"):
            while True:
                _, cursor = store.read_log(cursor)
        with v.watch("x") as watch:
            store.log_gap("changes 2-2 of the log were removed before this worker read them")
            with pytest.raises(WatchLagged, match="changes 2-2") as failure:
                watch.get(TIMEOUT)
        assert failure.value.status == "DATA_LOSS"


def test_watch_rpc_ends_with_data_loss_on_a_gap(shared_store: dict[str, Any]) -> None:
    with host(shared_store) as running:
        variables = VariableRpcs(running.client().stub, SESSION)
        variables.register("x", "integer", 0)
        stream = running.client().stub.WatchVariables(
            pb.WatchVariablesRequest(session_id=SESSION, variable_identifiers=["x"]), timeout=30
        )
        wait_until(lambda: runtime_for(running.host).store.describe()["watch_feed"] == 1, "the watch to start")
        runtime_for(running.host).store.log_gap("changes 5-9 were removed")
        with pytest.raises(grpc.RpcError) as ended:
            next(iter(stream))
        assert ended.value.code() == grpc.StatusCode.DATA_LOSS and "changes 5-9" in (ended.value.details() or "")


def test_auto_shares_one_file_per_snakepit_run(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with host({}, run_id="k3x9a2p") as first, host({}, run_id="k3x9a2p") as second, host({}, run_id="other") as third:
        variables_for(first.host, SESSION).register("x", "integer", 7)
        assert variables_for(second.host, SESSION, create=False).get("x") == 7
        assert not variables_for(third.host, SESSION).exists("x"), "another run, another file"
        status = first.client().call("describe", {})["status"]["variables"]
        assert status["store"] == "sqlite" and status["requested"] == "auto"
        assert status["location"] == str(tmp_path / "snakepit-variables" / "run-k3x9a2p.sqlite3")
        assert "Snakepit run 'k3x9a2p'" in status["reason"]
    with host({}) as standalone:
        variables_for(standalone.host, SESSION).register("y", "integer", 1)
        assert standalone.host.status["variables"]["store"] == "memory", "not launched by Snakepit: memory"


def test_the_store_itself_holds_history_values_within_the_byte_bound(
    shared_store: dict[str, Any], redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import snakepit_variables.redis_store
    import snakepit_variables.sqlite_store

    for module in (snakepit_variables.sqlite_store, snakepit_variables.redis_store):
        monkeypatch.setattr(module, "LOG_RETENTION_SECONDS", 0.0)  # trimming waits for no watcher here
    with host(shared_store) as running:
        v = variables_for(running.host, SESSION)
        variable = v.register("text", "string", "")
        for n in range(1, 17):
            v.set("text", str(n % 10) * (600 * 1024))
        store = runtime_for(running.host).store
        if shared_store["variables_store"] == "sqlite":
            with sqlite3.connect(shared_store["variables_sqlite_path"]) as db:
                [(held,)] = db.execute("SELECT SUM(size) FROM log WHERE id = ? AND value IS NOT NULL", (variable.id,))
        else:
            import redis

            assert isinstance(store, RedisStore)
            sizes = redis.Redis.from_url(redis_server.url).lrange(f"{store.prefix}:hs:{variable.id}", 0, -1)
            held = sum(int(size) for size in sizes)
        assert 3 * 1024 * 1024 < held <= 4 * 1024 * 1024
        assert [e.version for e in v.history("text") if e.value_kept] == list(range(11, 17))
