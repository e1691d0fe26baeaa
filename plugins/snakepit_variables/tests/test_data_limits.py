"""Issue 13, data findings 9-12: watches never drop silently, a batch names a variable once, SetVariables
never ignores expected_version, and history and lagging watchers are bounded by bytes."""

from __future__ import annotations

import json
import threading
from typing import Any

import grpc
import pytest
from snakepit_variables import variables_for
from snakepit_variables.history import HISTORY_VALUE_BYTES, HISTORY_VARIABLE_BYTES
from snakepit_variables.testing import VariableRpcs, rpc_error, typed
from snakepit_variables.watch import MAX_PENDING, MAX_PENDING_BYTES, WatchLagged

from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, wait_until

MiB = 1024 * 1024


def test_a_lagging_watch_ends_with_data_loss_after_what_it_kept(running: RunningHost) -> None:
    v = variables_for(running.host, "s1")
    v.register("x", "integer", 0)
    with v.watch("x") as watch:
        for value in range(1, MAX_PENDING + 101):
            v.set("x", value)
        delivered = [watch.get(1.0) for _ in range(MAX_PENDING)]
        assert [e.variable.version for e in delivered if e is not None] == list(range(1, MAX_PENDING + 1))
        with pytest.raises(WatchLagged, match=r"fell behind .*; 100 later change\(s\) were not delivered") as lagged:
            watch.get(1.0)
    assert lagged.value.status == "DATA_LOSS"


def test_a_watch_lagging_by_bytes_ends_with_data_loss(running: RunningHost) -> None:
    v = variables_for(running.host, "s1")
    v.register("text", "string", "")
    count = MAX_PENDING_BYTES // MiB + 2
    with v.watch("text") as watch:
        for n in range(count):
            v.set("text", str(n % 10) * MiB)
        kept = []
        with pytest.raises(WatchLagged, match="bytes pending"):
            while True:
                kept.append(watch.get(1.0))
    assert len(kept) == MAX_PENDING_BYTES // MiB and None not in kept


def test_the_watch_rpc_ends_with_data_loss_when_its_client_lags(running: RunningHost, stub: Any) -> None:
    variables = VariableRpcs(stub, "s1")
    variables.register("text", "string", "")
    stream = stub.WatchVariables(pb.WatchVariablesRequest(session_id="s1", variable_identifiers=["text"]), timeout=60)
    first = iter(stream)
    session_variables = variables_for(running.host, "s1", create=False)
    wait_until(lambda: session_variables._watches, "the watch to open")
    for n in range(MAX_PENDING_BYTES // MiB + 40):  # gRPC's own buffers hold some; the rest queue in the watch
        variables.set("text", str(n % 10) * MiB, "string")
    with pytest.raises(grpc.RpcError) as ended:
        for _ in first:
            pass
    assert ended.value.code() == grpc.StatusCode.DATA_LOSS
    assert "were not delivered; watch again with initial values" in (ended.value.details() or "")


def test_a_batch_naming_a_variable_by_name_and_by_id_is_refused(stub: Any, variables: VariableRpcs) -> None:
    variable_id = variables.register("temperature", "float", 0.5)
    request = pb.BatchSetVariablesRequest(session_id="s1", atomic=True)
    request.updates["temperature"].CopyFrom(typed("float", 0.1))
    request.updates[variable_id].CopyFrom(typed("float", 0.2))
    response = stub.SetVariables(request, timeout=10)
    assert not response.success and dict(response.new_versions) == {}
    [(refused, message)] = response.errors.items()
    assert refused in ("temperature", variable_id) and "name the same variable (temperature)" in message
    current = variables.get("temperature")
    assert (current.version, json.loads(current.value.value)) == (0, 0.5), "nothing was changed"

    request.atomic = False
    response = stub.SetVariables(request, timeout=10)
    [(applied, version)] = response.new_versions.items()
    assert version == 1 and list(response.errors) == [next(k for k in ("temperature", variable_id) if k != applied)]
    expected = json.loads(request.updates[applied].value)
    assert json.loads(variables.get("temperature").value.value) == expected, "one value, the one acknowledged"


def test_set_variables_refuses_expected_version_in_its_metadata(stub: Any, variables: VariableRpcs) -> None:
    variables.register("a", "integer", 1)
    variables.set("a", 2, "integer")
    request = pb.BatchSetVariablesRequest(session_id="s1", atomic=True, metadata={"expected_version": "0"})
    request.updates["a"].CopyFrom(typed("integer", 3))
    failure = rpc_error(stub.SetVariables, request, timeout=10)
    assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected_version is not supported for a batch" in failure.details()
    assert json.loads(variables.get("a").value.value) == 2


def test_history_is_bounded_by_bytes_for_every_type(running: RunningHost) -> None:
    v = variables_for(running.host, "s1")
    v.register("text", "string", "")
    v.register("items", "list", [])
    for n in range(25):
        v.set("text", str(n % 10) * (2 * MiB))
        v.set("items", [str(n % 10) * 1000] * 700)  # about 700 KB of JSON each
    texts = v.history("text")
    assert len(texts) == 26 and not any(e.value_kept for e in texts[1:]), f"values over {HISTORY_VALUE_BYTES} bytes"
    items = v.history("items")
    kept = [e for e in items if e.value_kept]
    assert 0 < sum(e.size for e in kept) <= HISTORY_VARIABLE_BYTES
    assert [e.version for e in kept] == list(range(26 - len(kept), 26)), "the newest values are the ones kept"


def test_concurrent_watchers_hold_events_once_per_event(running: RunningHost) -> None:
    """Many watchers of one variable share each pending event's copy (bounded per watch by MAX_PENDING_BYTES)."""
    v = variables_for(running.host, "s1")
    v.register("config", "dict", {})
    watches = [v.watch("config") for _ in range(8)]
    barrier = threading.Barrier(2)

    def write() -> None:
        barrier.wait()
        for n in range(5):
            v.set("config", {"n": n, "blob": "x" * 1000})

    writer = threading.Thread(target=write)
    writer.start()
    barrier.wait()
    writer.join(10)
    firsts = [w.get(1.0) for w in watches]
    assert len({id(event.variable.value) for event in firsts if event is not None}) == 1
    for watch in watches:
        watch.close()
