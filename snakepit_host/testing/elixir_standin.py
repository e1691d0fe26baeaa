"""A stand-in for Snakepit's Elixir BridgeServer, for tests (no Elixir needed).

It answers the RPCs a host calls on Elixir (PROTOCOL.md §3.2) with
Snakepit's semantics, records every request it receives, and lets a test
expose "Elixir tools" written in Python. Subclass it to add more (the
variables plugin's tests add the 0.4.x variable RPCs)::

    standin = ElixirStandIn()
    standin.expose_tool("add", lambda p: p["a"] + p["b"], parameters=[("a", "integer"), ("b", "integer")])
    address = standin.start()
    ...
    standin.restart()   # same port, empty state: what an Elixir restart looks like
    standin.stop()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from snakepit_host import codec
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

ElixirFunction = Callable[[dict[str, Any]], Any]


class ElixirStandIn(pb_grpc.BridgeServiceServicer):
    """Elixir's side of BridgeService, in Python, for tests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.sessions: dict[str, dict[str, str]] = {}
        self.registered_tools: dict[tuple[str, str], pb.ToolRegistration] = {}
        self.worker_ids: dict[tuple[str, str], str] = {}
        self.exposed: dict[str, tuple[ElixirFunction, pb.ToolSpec]] = {}
        self.heartbeat_ok = True
        self.lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port: int | None = None

    # ------------------------------------------------------------ set-up

    def expose_tool(
        self,
        name: str,
        function: ElixirFunction,
        *,
        description: str = "",
        parameters: Iterable[tuple[str, str]] = (),
        supports_streaming: bool = False,
    ) -> None:
        """Offer ``function(params_dict)`` to Python as an Elixir tool (in every session)."""
        spec = pb.ToolSpec(
            name=name,
            description=description,
            parameters=[pb.ParameterSpec(name=n, type=t, required=True) for n, t in parameters],
            metadata={"exposed_to_python": "true"},
            supports_streaming=supports_streaming,
        )
        self.exposed[name] = (function, spec)

    def calls(self, method: str) -> list[Any]:
        """Requests received for ``method``, in order."""
        with self.lock:
            return [request for name, request in self.requests if name == method]

    def _record(self, method: str, request: Any) -> None:
        with self.lock:
            self.requests.append((method, request))

    # ------------------------------------------------------------ server

    def start(self, port: int = 0) -> str:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.so_reuseport", 0)])
        pb_grpc.add_BridgeServiceServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self._server.start()
        return self.address

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(0).wait(5)
            self._server = None

    def restart(self) -> None:
        """Stop, forget every session and registration, and serve again on the same port."""
        port = self.port
        self.stop()
        with self.lock:
            self.sessions.clear()
            self.registered_tools.clear()
            self.worker_ids.clear()
        self.start(port or 0)

    # ------------------------------------------------------------ sessions

    def Ping(self, request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        self._record("Ping", request)
        stamp = Timestamp()
        stamp.GetCurrentTime()
        return pb.PingResponse(message=f"pong from Elixir stand-in: {request.message}", server_time=stamp)

    def InitializeSession(
        self, request: pb.InitializeSessionRequest, context: grpc.ServicerContext
    ) -> pb.InitializeSessionResponse:
        self._record("InitializeSession", request)
        with self.lock:
            self.sessions.setdefault(request.session_id, dict(request.metadata))
        return pb.InitializeSessionResponse(success=True)

    def CleanupSession(
        self, request: pb.CleanupSessionRequest, context: grpc.ServicerContext
    ) -> pb.CleanupSessionResponse:
        self._record("CleanupSession", request)
        with self.lock:
            existed = self.sessions.pop(request.session_id, None) is not None
        return pb.CleanupSessionResponse(success=existed, resources_cleaned=int(existed))

    def GetSession(self, request: pb.GetSessionRequest, context: grpc.ServicerContext) -> pb.GetSessionResponse:
        self._record("GetSession", request)
        with self.lock:
            metadata = self.sessions.get(request.session_id)
            tools = sum(1 for session, _ in self.registered_tools if session == request.session_id)
        if metadata is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Session not found: {request.session_id}")
        return pb.GetSessionResponse(session_id=request.session_id, metadata=metadata, tool_count=tools)

    def Heartbeat(self, request: pb.HeartbeatRequest, context: grpc.ServicerContext) -> pb.HeartbeatResponse:
        self._record("Heartbeat", request)
        if not self.heartbeat_ok:
            context.abort(grpc.StatusCode.UNAVAILABLE, "heartbeat refused by test")
        stamp = Timestamp()
        stamp.GetCurrentTime()
        return pb.HeartbeatResponse(server_time=stamp, session_valid=request.session_id in self.sessions)

    def _require_session(self, session_id: str, context: grpc.ServicerContext) -> None:
        if session_id not in self.sessions:
            context.abort(grpc.StatusCode.NOT_FOUND, f"session {session_id} not found")

    # ------------------------------------------------------------ tools

    def RegisterTools(
        self, request: pb.RegisterToolsRequest, context: grpc.ServicerContext
    ) -> pb.RegisterToolsResponse:
        self._record("RegisterTools", request)
        if request.session_id not in self.sessions:
            return pb.RegisterToolsResponse(success=False, error_message=f"session {request.session_id} not found")
        ids = {}
        with self.lock:
            for tool in request.tools:
                key = (request.session_id, tool.name)
                self.registered_tools[key] = tool
                self.worker_ids[key] = request.worker_id
                ids[tool.name] = f"{request.session_id}:{tool.name}"
        return pb.RegisterToolsResponse(success=True, tool_ids=ids)

    def GetExposedElixirTools(
        self, request: pb.GetExposedElixirToolsRequest, context: grpc.ServicerContext
    ) -> pb.GetExposedElixirToolsResponse:
        self._record("GetExposedElixirTools", request)
        self._require_session(request.session_id, context)
        return pb.GetExposedElixirToolsResponse(tools=[spec for _, spec in self.exposed.values()])

    def ExecuteElixirTool(
        self, request: pb.ExecuteElixirToolRequest, context: grpc.ServicerContext
    ) -> pb.ExecuteElixirToolResponse:
        self._record("ExecuteElixirTool", request)
        if request.session_id not in self.sessions:
            return pb.ExecuteElixirToolResponse(success=False, error_message=f"Session {request.session_id} not found")
        entry = self.exposed.get(request.tool_name)
        if entry is None:
            return pb.ExecuteElixirToolResponse(success=False, error_message=f"Tool {request.tool_name} not found")
        try:
            params = {name: json.loads(value.value) for name, value in request.parameters.items()}
        except ValueError as exc:
            return pb.ExecuteElixirToolResponse(success=False, error_message=f"invalid parameters: {exc}")
        try:
            result = entry[0](params)
        except Exception as exc:  # an Elixir tool's failure, reported as Elixir does
            return pb.ExecuteElixirToolResponse(success=False, error_message=str(exc))
        return pb.ExecuteElixirToolResponse(
            success=True, result=codec.encode_json_any(result), metadata={"execution_time": "0"}, execution_time_ms=0
        )
