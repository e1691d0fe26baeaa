"""Many sessions: the table stays bounded, new sessions are never locked out, throwaway ones cost Elixir nothing.

Issue 13 (item 8): 10,000 new session ids used to fill the table and refuse
every new session for an hour. Issue 14: a caller that names a new session
on every call (the premise of its Snakepit 0.13 measurement, and what
``execute_in_session`` with many ids does) made the host announce its tools
to Elixir for each one. Both run here against a real server, with Snakepit
0.13's request shape and an Elixir stand-in.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import pytest

from snakepit_host import Registrar, SessionContext, hookimpl
from snakepit_host.host_client import RemoteError
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import running_host, wait_until
from snakepit_host.testing.elixir_standin import ElixirStandIn

METADATA_013 = {"python_runtime_hash": "0" * 64, "python_version": "3.11.7", "python_platform": "x86_64-pc-linux-gnu"}


def call_013(stub: Any, session_id: str) -> pb.ExecuteToolResponse:
    """``Snakepit.execute("ping", %{})`` as 0.13 sends it (PROTOCOL.md §3.3; notes: snakepit-callpath Part A)."""
    correlation = "sp-" + secrets.token_hex(12)
    request = pb.ExecuteToolRequest(
        session_id=session_id, tool_name="ping", metadata={"correlation_id": correlation, **METADATA_013}
    )
    response: pb.ExecuteToolResponse = stub.ExecuteTool(
        request, timeout=240, metadata=(("x-snakepit-correlation-id", correlation),)
    )
    return response


def test_a_flood_of_new_sessions_never_locks_new_sessions_out() -> None:
    closed: list[str] = []

    class Watch:
        @hookimpl
        def session_closed(self, session: Any, reason: str) -> None:
            closed.append(reason)

    with running_host(Watch, max_sessions=100) as running:
        client = running.client()
        assert client.stub.InitializeSession(pb.InitializeSessionRequest(session_id="worker"), timeout=10).success
        for n in range(1000):
            assert client.call("ping", session_id=f"flood-{n}")["status"] == "ok"
        assert client.call("echo", {"still": "served"}, session_id="a-new-one") == {"still": "served"}
        sessions = client.call("describe")["sessions"]
        assert sessions["count"] <= 100 and sessions["max"] == 100 and sessions["evicted"] >= 900
        assert closed.count("evicted") == sessions["evicted"]
        # The session Snakepit initialised (its heartbeats name it) outlives the flood.
        assert client.stub.Heartbeat(pb.HeartbeatRequest(session_id="worker"), timeout=10).session_valid


def test_a_table_full_of_busy_sessions_refuses_a_new_one_in_words() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    class Slow:
        @hookimpl
        def register_commands(self, register: Registrar) -> None:
            def hold(ctx: SessionContext, params: dict[str, Any]) -> str:
                started.release()
                release.wait(10)
                return ctx.session_id

            register.command("hold", hold)

    with running_host(Slow, max_sessions=2) as running:
        client = running.client()
        holders = [threading.Thread(target=client.call, args=("hold",), kwargs={"session_id": s}) for s in "ab"]
        for thread in holders:
            thread.start()
        for _ in holders:
            assert started.acquire(timeout=10)
        try:
            with pytest.raises(RemoteError) as refused:
                client.call("ping", session_id="c")
            assert refused.value.metadata["error_status"] == "RESOURCE_EXHAUSTED"
            assert "session limit of 2 reached and every session has a call running" in refused.value.message
        finally:
            release.set()
            for thread in holders:
                thread.join(10)
        assert client.call("ping", session_id="c")["session_id"] == "c"  # an idle one made room
        assert sorted(running.host.sessions.ids()) in (["a", "c"], ["b", "c"])


def test_snakepit_013_calls_with_a_new_session_each_cost_elixir_nothing(elixir_standin: ElixirStandIn) -> None:
    worker = f"session_2_{time.time_ns() // 1000}"
    with running_host(entry_points=True, elixir_address=elixir_standin.address, max_sessions=500) as running:
        stub = running.client().stub
        assert stub.InitializeSession(pb.InitializeSessionRequest(session_id=worker), timeout=10).success
        wait_until(lambda: elixir_standin.calls("GetExposedElixirTools"), "the worker session's announcement")
        for n in range(2000):
            response = call_013(stub, f"session_{n + 3}_{time.time_ns() // 1000}")
            assert response.success, response.error_message
        assert call_013(stub, worker).success
        assert len(running.host.sessions) <= 500 and running.host.sessions.evicted >= 1500
        # Elixir heard about the worker's session, once; about none of the 2000 others.
        for method in ("InitializeSession", "RegisterTools", "GetExposedElixirTools"):
            assert [r.session_id for r in elixir_standin.calls(method)] == [worker], method
        assert stub.Heartbeat(pb.HeartbeatRequest(session_id=worker), timeout=10).session_valid
