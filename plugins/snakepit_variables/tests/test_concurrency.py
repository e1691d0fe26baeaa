"""Optimistic concurrency: threads increment one counter with retries; no increment is lost."""

from __future__ import annotations

import json
import threading
from typing import Any

import grpc
from snakepit_variables import variables_for
from snakepit_variables.testing import VariableRpcs, typed

from snakepit_host._errors import Conflict
from snakepit_host.proto import snakepit_bridge_pb2 as pb

THREADS = 6
INCREMENTS = 25


def _run_threads(work: Any) -> list[BaseException]:
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


def test_rpc_increments_with_optimistic_retries(stub: Any, variables: VariableRpcs) -> None:
    variables.register("counter", "integer", 0)
    conflicts: list[int] = []

    def increment_many() -> None:
        for _ in range(INCREMENTS):
            while True:
                current = variables.get("counter")
                request = pb.SetVariableRequest(
                    session_id="s1",
                    variable_identifier="counter",
                    value=typed("integer", json.loads(current.value.value) + 1),
                    metadata={"expected_version": str(current.version)},  # also covers version 0
                )
                try:
                    stub.SetVariable(request, timeout=30)
                    break
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.ABORTED, exc.details()
                    conflicts.append(1)

    assert _run_threads(increment_many) == []
    final = variables.get("counter")
    assert json.loads(final.value.value) == THREADS * INCREMENTS
    assert final.version == THREADS * INCREMENTS


def test_python_api_increments_with_optimistic_retries(running: Any) -> None:
    counter = variables_for(running.host, "py")
    counter.register("n", "integer", 0)

    def increment_many() -> None:
        for _ in range(INCREMENTS):
            while True:
                current = counter.get_variable("n")
                try:
                    counter.set("n", current.value + 1, expected_version=current.version)
                    break
                except Conflict:
                    continue

    assert _run_threads(increment_many) == []
    assert counter.get("n") == THREADS * INCREMENTS
    total = THREADS * INCREMENTS
    assert [e.version for e in counter.history("n", limit=3)] == [total - 2, total - 1, total]
