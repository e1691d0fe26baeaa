"""The BridgeService servicer and the gRPC server around it.

The host answers Ping, the session RPCs, ExecuteTool and
ExecuteStreamingTool itself. Every other BridgeService method (read from the
proto) is served by the plugin that registered it (``register_rpcs``), or
answered UNIMPLEMENTED saying why nothing serves it. The standard
health service and server reflection are attached lazily: their modules are
imported on the first health or reflection call, not at start-up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from snakepit_host import codec
from snakepit_host._bridge_methods import plugin_methods, service_methods
from snakepit_host._calls import CallScope
from snakepit_host._errors import (
    DecodeError,
    EncodeError,
    ResourceExhausted,
    SnakepitError,
    VerbatimError,
    describe_exception,
    status_of,
)
from snakepit_host._lanes import NO_DEADLINE, Lanes
from snakepit_host._telemetry import Measurement, TelemetryHub
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from snakepit_host._host import Host
    from snakepit_host._host_api import Host as HostAPI
    from snakepit_host._sessions import Session

log = logging.getLogger("snakepit_host.server")

SERVICE_NAME = "snakepit.bridge.BridgeService"

# Names Elixir 0.13 maps onto its error structs, for our own error classes.
_ELIXIR_ERROR_TYPES = {
    "INVALID_ARGUMENT": "ValueError",
    "NOT_FOUND": "KeyError",
    "PERMISSION_DENIED": "PermissionError",
    "DEADLINE_EXCEEDED": "TimeoutError",
    "UNIMPLEMENTED": "NotImplementedError",
}


class PortInUse(Exception):
    """The requested address could not be bound."""


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


class RpcCall:
    """What a plugin RPC handler gets besides the request."""

    def __init__(self, host: HostAPI, context: grpc.ServicerContext, method: str) -> None:
        self.host = host
        self.context = context
        self.method = method

    def session(self, session_id: str, *, create: bool = False) -> Session:
        """The session, created on first use when ``create``; else NotFound if unknown."""
        if create:
            return self.host.sessions.ensure(session_id)[0]
        return self.host.sessions.require(session_id)

    def is_active(self) -> bool:
        return bool(self.context.is_active())

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the RPC ends for any reason (including client cancel)."""
        self.context.add_callback(callback)


class BridgeServicer(pb_grpc.BridgeServiceServicer):
    def __init__(self, host: Host) -> None:
        self.host = host

    # ------------------------------------------------------------ health and sessions

    def Ping(self, request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        return pb.PingResponse(message=f"Pong from snakepit-host: {request.message}", server_time=_now())

    def InitializeSession(
        self, request: pb.InitializeSessionRequest, context: grpc.ServicerContext
    ) -> pb.InitializeSessionResponse:
        try:
            self.host.sessions.ensure(request.session_id, dict(request.metadata), explicit=True)
        except SnakepitError as exc:
            return pb.InitializeSessionResponse(success=False, error_message=str(exc))
        if self.host.worker_session_id is None:
            self.host.worker_session_id = request.session_id
        return pb.InitializeSessionResponse(success=True)

    def GetSession(self, request: pb.GetSessionRequest, context: grpc.ServicerContext) -> pb.GetSessionResponse:
        session = self.host.sessions.get(request.session_id)
        if session is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown session '{request.session_id[:256]}'")
        created = Timestamp()
        created.FromNanoseconds(int(session.created_at * 1e9))
        tools = len(self.host.registry.tools()) + len(session.local_commands)
        return pb.GetSessionResponse(
            session_id=session.id,
            metadata=session.metadata,
            created_at=created,
            tool_count=tools,
            legacy_tool_count=tools,
        )

    def CleanupSession(
        self, request: pb.CleanupSessionRequest, context: grpc.ServicerContext
    ) -> pb.CleanupSessionResponse:
        session = self.host.sessions.close(request.session_id, "cleanup")
        if session is None:
            return pb.CleanupSessionResponse(success=False, resources_cleaned=0)
        return pb.CleanupSessionResponse(success=True, resources_cleaned=1 + len(session.local_commands))

    def Heartbeat(self, request: pb.HeartbeatRequest, context: grpc.ServicerContext) -> pb.HeartbeatResponse:
        valid = self.host.sessions.get(request.session_id) is not None
        return pb.HeartbeatResponse(server_time=_now(), session_valid=valid)

    # ------------------------------------------------------------ tools

    def _call_inputs(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> dict[str, Any]:
        """Everything but the parameters that :meth:`Host.execute` / :meth:`Host.stream` take."""
        binary = {}
        for name, data in request.binary_parameters.items():
            try:
                binary[name] = codec.unpack_binary(data)
            except DecodeError as exc:
                raise DecodeError(f"binary parameter '{name}': {exc}") from None
        remaining = context.time_remaining()
        return {
            "session_id": request.session_id,
            "metadata": dict(request.metadata),
            "binary": binary,
            "deadline": None if remaining is None or remaining >= NO_DEADLINE else time.monotonic() + remaining,
            "is_active": context.is_active,
        }

    def ExecuteTool(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> pb.ExecuteToolResponse:
        with CallScope(self.host, "ExecuteTool", request, context) as call:
            telemetry = self.host.telemetry
            if telemetry.active:
                _report_start(telemetry, request)
            try:
                call.params = params = codec.decode_parameters(request.parameters, request.binary_parameters)
                result = self.host.execute(request.tool_name, params, **self._call_inputs(request, context))
                response = _success_response(result)
                estimate = len(response.binary_result) + len(response.result.value)
                _check_size(
                    response, estimate, self.host.config.max_message_bytes, f"the result of {request.tool_name}"
                )
            except Exception as exc:
                call.error = exc
                response = self._failure(exc, request)
            call.response = response
            elapsed = time.perf_counter() - call.started
            response.execution_time_ms = int(elapsed * 1000)
            if telemetry.active:
                _report_end(telemetry, request, response, elapsed)
            return response

    def StreamTelemetry(
        self, request_iterator: Iterator[pb.TelemetryControl], context: grpc.ServicerContext
    ) -> Iterator[pb.TelemetryEvent]:
        return self.host.telemetry.serve(request_iterator, context, lambda: self.host.stopping)

    def _failure(self, exc: Exception, request: pb.ExecuteToolRequest) -> pb.ExecuteToolResponse:
        status = status_of(exc)
        message = describe_exception(exc)
        self._log_failure(request.tool_name, exc, message)
        if isinstance(exc, VerbatimError):
            return pb.ExecuteToolResponse(
                success=False, error_message=message, metadata={"error_type": exc.error_type, "error_status": status}
            )
        if isinstance(exc, EncodeError):
            message = f"result of '{request.tool_name}' cannot be sent: {message}"
        if self.host.config.error_format == "json":
            message = json.dumps(self._error_payload(exc, message, status, request))
        return pb.ExecuteToolResponse(
            success=False,
            error_message=message,
            metadata={"error_type": type(exc).__name__, "error_status": status},
        )

    def _error_payload(
        self, exc: Exception, message: str, status: str, request: pb.ExecuteToolRequest
    ) -> dict[str, Any]:
        """Snakepit 0.13's structured error (it maps ``type`` onto its error structs)."""
        if isinstance(exc, SnakepitError):
            error_type = _ELIXIR_ERROR_TYPES.get(status, "RuntimeError")
        else:
            error_type = type(exc).__name__
        tb: list[str] = []
        if self.host.config.include_tracebacks:
            import traceback

            tb = traceback.format_exception(exc)
        return {
            "type": error_type,
            "message": message,
            "stacktrace": [line.rstrip() for line in tb],
            "traceback": "".join(tb),
            "context": {"tool_name": request.tool_name[:200], "session_id": request.session_id[:256]},
        }

    def _log_failure(self, name: str, exc: Exception, message: str) -> None:
        expected = isinstance(exc, SnakepitError)
        level = logging.INFO if expected else logging.WARNING
        if log.isEnabledFor(level):
            details = status_details(message)
            log.log(level, "%s failed: %s", name[:200], details, exc_info=log.isEnabledFor(logging.DEBUG))

    def ExecuteStreamingTool(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ToolChunk]:
        name = request.tool_name
        with CallScope(self.host, "ExecuteStreamingTool", request, context) as call:
            try:
                call.params = params = codec.decode_parameters(request.parameters, request.binary_parameters)
                items = self.host.stream(
                    name, params, on_cancel=context.add_callback, **self._call_inputs(request, context)
                )
                first = next(items)
            except StopIteration:
                yield pb.ToolChunk(chunk_id=f"{name}-1", is_final=True)
                return
            except Exception as exc:
                call.error = exc
                message = describe_exception(exc)
                self._log_failure(name, exc, message)
                context.abort(_status_code(status_of(exc)), status_details(message))
            try:
                for chunk in _frame_stream(name, first, items, self):
                    call.chunk(chunk)
                    yield chunk
            except VerbatimError as exc:  # the handler's own convention: abort, also mid-stream
                call.error = exc
                self._log_failure(name, exc, str(exc))
                context.abort(_status_code(exc.status), status_details(str(exc)))
            finally:
                items.close()

    # ------------------------------------------------------------ plugin RPCs

    def _plugin_rpc(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        entry = self.host.registry.rpcs.get(method)
        if entry is None:
            why = self.host.explain_missing("rpcs", method)
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not served by this host: {why}")
        try:
            return entry.handler()(request, RpcCall(self.host, context, method))
        except Exception as exc:
            _abort_for(context, exc, method, entry.owner)

    def _plugin_stream(self, method: str, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        entry = self.host.registry.rpcs.get(method)
        iterator = self._plugin_rpc(method, request, context)
        self.host.call_stats.stream_opened(method)
        try:
            yield from iterator
        except Exception as exc:
            _abort_for(context, exc, method, entry.owner if entry else "?")
        finally:
            self.host.call_stats.stream_closed(method)
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


def _report_start(telemetry: TelemetryHub, request: pb.ExecuteToolRequest) -> None:
    telemetry.emit(
        "tool.execution.start",
        {"system_time": time.time_ns()},
        {"tool": request.tool_name[:200]},
        request.metadata.get("correlation_id", ""),
    )


def _report_end(
    telemetry: TelemetryHub, request: pb.ExecuteToolRequest, response: pb.ExecuteToolResponse, elapsed: float
) -> None:
    """``tool.execution.stop`` and ``tool.result_size`` (or ``.exception``), handed to the streams together."""
    now = time.time_ns()
    metadata = {"tool": request.tool_name[:200]}
    correlation = request.metadata.get("correlation_id", "")
    measurements: dict[str, Measurement] = {"duration_ms": elapsed * 1000}
    if response.success:
        size = len(response.result.value) + len(response.binary_result)
        telemetry.emit_batch(
            (
                ("tool.execution.stop", measurements, metadata, correlation, now),
                ("tool.result_size", {"bytes": size}, metadata, correlation, now),
            )
        )
    else:
        failed = {**metadata, "error_type": response.metadata.get("error_type", "")}
        telemetry.emit_batch((("tool.execution.exception", measurements, failed, correlation, now),))


def _abort_for(context: grpc.ServicerContext, exc: Exception, method: str, owner: str) -> None:
    status = status_of(exc)
    message = describe_exception(exc)
    if not isinstance(exc, SnakepitError):
        log.warning(
            "plugin %s failed serving %s: %s",
            owner,
            method,
            status_details(message),
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        if status == "INTERNAL":
            message = f"plugin '{owner}' failed serving {method}: {message}"
    context.abort(_status_code(status), status_details(message))


MAX_STATUS_DETAILS_BYTES = 4096
"""Longest status message sent: gRPC carries it in a header, and a header over 16 KiB
(percent-encoding may triple the bytes) makes the client see RESOURCE_EXHAUSTED "Stream removed"
instead of the status meant. Snakepit 0.13's structured JSON errors, with their stack trace,
usually fit whole."""


def status_details(message: str) -> str:
    """``message`` cut to :data:`MAX_STATUS_DETAILS_BYTES`, saying how much was left out."""
    data = message.encode()
    if len(data) <= MAX_STATUS_DETAILS_BYTES:
        return message
    kept = data[:MAX_STATUS_DETAILS_BYTES].decode(errors="ignore")
    return f"{kept}... ({len(data) - len(kept.encode())} more bytes)"


def _plugin_method(method: str) -> Callable[..., Any]:
    if service_methods()[method]:

        def streaming(self: BridgeServicer, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            return self._plugin_stream(method, request, context)

        streaming.__name__ = method
        return streaming

    def unary(self: BridgeServicer, request: Any, context: grpc.ServicerContext) -> Any:
        return self._plugin_rpc(method, request, context)

    unary.__name__ = method
    return unary


for _method in plugin_methods():
    setattr(BridgeServicer, _method, _plugin_method(_method))


def _status_code(status: str) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, status, grpc.StatusCode.INTERNAL)


def _check_size(message: Any, estimate: int, limit: int, what: str) -> None:
    """Refuse in words what gRPC would refuse with a bare RESOURCE_EXHAUSTED.

    ``ByteSize()`` serialises the whole message (70 ms for 64 MB), so it is
    only asked when the caller's estimate of the big parts comes near the limit.
    """
    if estimate < limit - 64 * 1024:
        return
    size = message.ByteSize()
    if size > limit:
        raise ResourceExhausted(
            f"{what} is {size} bytes, over the message limit of {limit} bytes (--max-message-bytes)"
        )


def _success_response(result: Any) -> pb.ExecuteToolResponse:
    if type(result) in codec.PLAIN_TYPES:
        response = pb.ExecuteToolResponse(success=True)
        codec.encode_into(response.result, result)
        return response
    metadata: dict[str, str] = {}
    binary = None
    if isinstance(result, codec.Result):
        metadata = {str(k): str(v) for k, v in result.metadata.items()}
        binary, result = result.binary, result.value
        if binary is not None and result is None:
            result = {"binary": codec.binary_summary(binary)}
    else:
        binary = codec.as_binary(result)
        if binary is not None:
            result = {"binary": codec.binary_summary(binary)}
    response = pb.ExecuteToolResponse(success=True, metadata=metadata)
    codec.encode_into(response.result, result)
    if binary is not None:
        response.binary_result = codec.pack_binary(binary)
    return response


def _frame_stream(name: str, first: Any, items: Iterator[Any], servicer: BridgeServicer) -> Iterator[pb.ToolChunk]:
    """Snakepit's chunk framing (PROTOCOL.md §6.4), readable by 0.4.x and 0.13.x.

    One data chunk per item, ids ``<tool>-<n>``, then exactly one terminal
    chunk with ``is_final=true`` and empty data (0.4.x ignores a final
    chunk's data, so data never rides on it). An error after the first
    chunk ends the stream with a final chunk carrying the error, except a
    :class:`VerbatimError`, which propagates (the caller aborts the RPC with it).
    """
    number = 0
    item = first
    while True:
        number += 1
        chunk_id = f"{name}-{number}"
        try:
            final = isinstance(item, codec.StreamChunk) and item.is_final
            metadata = {str(k): str(v) for k, v in item.metadata.items()} if isinstance(item, codec.StreamChunk) else {}
            payload = item.data if isinstance(item, codec.StreamChunk) else item
            data = b"" if payload is None and isinstance(item, codec.StreamChunk) else codec.chunk_bytes(payload)
        except VerbatimError:
            raise
        except Exception as exc:
            yield _error_chunk(chunk_id, exc, f"item {number} of {name} cannot be encoded: ", servicer, name)
            return
        if final:
            if data:
                yield pb.ToolChunk(chunk_id=chunk_id, data=data)
                number += 1
            yield pb.ToolChunk(chunk_id=f"{name}-{number}", is_final=True, metadata=metadata)
            return
        chunk = pb.ToolChunk(chunk_id=chunk_id, data=data, metadata=metadata)
        try:
            _check_size(chunk, len(data), servicer.host.config.max_message_bytes, f"item {number} of {name}")
        except ResourceExhausted as exc:
            yield _error_chunk(chunk_id, exc, "", servicer, name)
            return
        yield chunk
        try:
            item = next(items)
        except StopIteration:
            yield pb.ToolChunk(chunk_id=f"{name}-{number + 1}", is_final=True)
            return
        except VerbatimError:
            raise
        except Exception as exc:
            yield _error_chunk(f"{name}-{number + 1}", exc, "", servicer, name)
            return


def _error_chunk(chunk_id: str, exc: Exception, prefix: str, servicer: BridgeServicer, name: str) -> pb.ToolChunk:
    message = prefix + describe_exception(exc)
    servicer._log_failure(name, exc, message)
    error = {"type": type(exc).__name__, "status": status_of(exc), "message": message}
    return pb.ToolChunk(
        chunk_id=chunk_id,
        data=json.dumps({"error": error}).encode(),
        is_final=True,
        metadata={"error": "true", "error_type": error["type"], "error_message": message[:1000]},
    )


# ---------------------------------------------------------------- health and reflection


class _HandlerCollector:
    """Stands in for a server so generated ``add_*_to_server`` functions hand us their handlers."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []
        self.methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.methods.update(handlers)


class LazyStandardServices(grpc.GenericRpcHandler):
    """grpc.health.v1 and server reflection (v1 and v1alpha), imported on their first call."""

    def __init__(self, lanes: Lanes) -> None:
        self._lanes = lanes
        self._health: Any = None
        self._health_handlers: list[grpc.GenericRpcHandler] | None = None
        self._reflection_handlers: list[grpc.GenericRpcHandler] | None = None
        self._in_lanes: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        self._serving = True

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        known = self._in_lanes.get(method)
        if known is not None:
            return known
        if method.startswith("/grpc.health.v1.Health/"):
            handlers = self._health_handlers or self._load_health()
        elif method.startswith("/grpc.reflection."):
            handlers = self._reflection_handlers or self._load_reflection()
        else:
            return None
        for handler in handlers:
            found = handler.service(handler_call_details)
            if found is not None:
                lane = self._lanes.for_method(method, found.response_streaming)
                self._in_lanes[method] = lane.handler(found)
                return self._in_lanes[method]
        return None

    def _load_health(self) -> list[grpc.GenericRpcHandler]:
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc

        servicer = health.HealthServicer()
        status = health_pb2.HealthCheckResponse.SERVING if self._serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            servicer.set(name, status)
        collector = _HandlerCollector()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, collector)
        self._health = servicer
        self._health_handlers = collector.handlers
        return collector.handlers

    def _load_reflection(self) -> list[grpc.GenericRpcHandler]:
        from grpc_health.v1 import health_pb2

        from snakepit_host._reflection import reflection_handlers

        self._reflection_handlers = reflection_handlers((pb.DESCRIPTOR, health_pb2.DESCRIPTOR))
        return self._reflection_handlers

    def not_serving(self) -> None:
        self._serving = False
        if self._health is not None:
            self._health.enter_graceful_shutdown()


class BridgeServer:
    """A gRPC server serving one host, each RPC in its lane (:mod:`snakepit_host._lanes`)."""

    def __init__(self, host: Host) -> None:
        from snakepit_host._log_records import stamp_records

        stamp_records()  # a call's log lines carry its correlation id, however the process set up logging
        self.host = host
        config = host.config
        options = [
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.so_reuseport", 0),  # a port in use must fail loudly, not be shared
        ]
        self.lanes = Lanes(max_calls=config.max_workers, max_streams=config.max_streams)
        self.server = grpc.server(self.lanes.calls.executor, options=options)
        collector = _HandlerCollector()
        pb_grpc.add_BridgeServiceServicer_to_server(BridgeServicer(host), collector)  # type: ignore[no-untyped-call]
        handlers = {
            name: self.lanes.for_method(name, handler.response_streaming).handler(handler)
            for name, handler in collector.methods.items()
        }
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
        self.server.add_registered_method_handlers(SERVICE_NAME, handlers)
        self.standard = LazyStandardServices(self.lanes)
        self.server.add_generic_rpc_handlers((self.standard,))
        self.port: int | None = None

    def bind(self) -> int:
        host, port = self.host.config.bind_host, self.host.config.port
        address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
        try:
            bound = self.server.add_insecure_port(address)
        except RuntimeError as exc:
            raise PortInUse(f"cannot listen on {address}: {exc}") from None
        if bound == 0:
            raise PortInUse(f"cannot listen on {address} (in use, or not an address of this machine)")
        self.port = bound
        display_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.host.address = f"{display_host}:{bound}"
        return bound

    def start(self) -> int:
        port = self.port if self.port is not None else self.bind()
        self.server.start()
        return port

    def stop_accepting(self, grace: float) -> threading.Event:
        """Refuse new calls now; running ones are cancelled after ``grace`` seconds. Set once all have ended."""
        self.standard.not_serving()
        event: threading.Event = self.server.stop(grace)
        return event
