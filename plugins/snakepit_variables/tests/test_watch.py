"""WatchVariables over a real server, and ctx.variables.watch: events, initial values, prompt ending."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import grpc
from snakepit_variables import variables_for
from snakepit_variables.testing import VariableRpcs

from snakepit_host.proto import snakepit_bridge_pb2 as pb

TIMEOUT = 10.0


def _collect(stream: Any, into: queue.Queue[Any]) -> threading.Thread:
    def run() -> None:
        try:
            for update in stream:
                into.put(update)
        except grpc.RpcError as exc:
            into.put(exc.code())
        into.put("end")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until(condition: Any) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_watch_stream_sends_initial_values_then_changes_and_ends_on_cancel(
    running: Any, stub: Any, variables: VariableRpcs
) -> None:
    variables.register("temperature", "float", 0.5)
    variables.register("top_p", "float", 0.9)
    variables.register("other", "string", "x")
    request = pb.WatchVariablesRequest(
        session_id="s1", variable_identifiers=["temp*", "top_p"], include_initial_values=True
    )
    stream = stub.WatchVariables(request, timeout=60)
    updates: queue.Queue[Any] = queue.Queue()
    thread = _collect(stream, updates)

    initial = [updates.get(timeout=TIMEOUT), updates.get(timeout=TIMEOUT)]
    assert sorted((u.update_type, u.variable.name) for u in initial) == [
        ("initial_value", "temperature"),
        ("initial_value", "top_p"),
    ]
    variables.set("other", "ignored", "string")
    variables.set("temperature", 0.7, metadata={"why": "test"})
    variables.register("temp2", "integer", 1, metadata={"source": "python"})
    change = updates.get(timeout=TIMEOUT)
    assert (change.update_type, change.variable.name, change.variable.version) == ("value_change", "temperature", 1)
    assert json.loads(change.variable.value.value) == 0.7
    assert change.update_metadata["why"] == "test" and change.update_source == "elixir"
    registered = updates.get(timeout=TIMEOUT)
    assert (registered.update_type, registered.variable.name, registered.update_source) == (
        "registered",
        "temp2",
        "python",
    )

    session_variables = variables_for(running.host, "s1", create=False)
    assert len(session_variables._watches) == 1
    stream.cancel()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert _wait_until(lambda: not session_variables._watches), "the watch stayed open after the client cancelled"


def test_watch_stream_ends_when_the_session_closes(running: Any, stub: Any, variables: VariableRpcs) -> None:
    variables.register("x", "float", 0.5)
    request = pb.WatchVariablesRequest(session_id="s1", variable_identifiers=["x"], include_initial_values=True)
    stream = stub.WatchVariables(request, timeout=60)
    updates: queue.Queue[Any] = queue.Queue()
    thread = _collect(stream, updates)
    # The initial value says the watch is registered: a write sent before that could be missed.
    assert updates.get(timeout=TIMEOUT).update_type == "initial_value"
    variables.set("x", 0.6)
    assert updates.get(timeout=TIMEOUT).variable.version == 1
    stub.CleanupSession(pb.CleanupSessionRequest(session_id="s1"))
    assert updates.get(timeout=TIMEOUT) == "end"
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_watching_an_unknown_session_is_not_found(stub: Any) -> None:
    stream = stub.WatchVariables(pb.WatchVariablesRequest(session_id="ghost"), timeout=10)
    try:
        next(iter(stream))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("expected NOT_FOUND")


def test_python_watch_iterates_and_closes(running: Any) -> None:
    variables = variables_for(running.host, "py")
    variables.register("a", "integer", 0)
    with variables.watch("a", include_initial=True) as watch:
        variables.set("a", 1)
        variables.delete("a")
        events = [watch.get(TIMEOUT) for _ in range(3)]
    assert [(e.kind, e.variable.version) for e in events if e] == [
        ("initial_value", 0),
        ("value_change", 1),
        ("deleted", 1),
    ]
    assert watch.closed and watch.get(0) is None and not variables._watches

    other = variables.watch(["*"])
    finished = threading.Event()

    def drain() -> None:
        list(other)
        finished.set()

    threading.Thread(target=drain, daemon=True).start()
    other.close()
    assert finished.wait(TIMEOUT)
