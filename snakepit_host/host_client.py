"""A small Python client for any BridgeService worker (this host or Snakepit's own).

Used by ``snakepit-host call``, the testing kit and the benchmarks::

    with SnakepitClient("127.0.0.1:50052") as client:
        client.call("echo", {"x": 1})            # -> {"x": 1}
        for item in client.stream("count", {"n": 3}):
            print(item)
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from snakepit_host import codec
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc


class RemoteError(Exception):
    """The worker answered ``success=false`` or ended a stream with an error chunk."""

    def __init__(self, message: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = dict(metadata or {})

    @property
    def error_type(self) -> str | None:
        return self.metadata.get("error_type")


@dataclass
class CallResult:
    value: Any
    binary: bytes | codec.TypedBuffer | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    execution_time_ms: int = 0


class SnakepitClient:
    def __init__(
        self,
        address: str | None = None,
        *,
        channel: grpc.Channel | None = None,
        max_message_bytes: int = 100 * 1024 * 1024,
        timeout: float | None = 60.0,
    ) -> None:
        if channel is None:
            if address is None:
                raise ValueError("give an address or a channel")
            options = [
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
            ]
            channel = grpc.insecure_channel(address, options=options)
            self._owns_channel = True
        else:
            self._owns_channel = False
        self.channel = channel
        self.stub = pb_grpc.BridgeServiceStub(channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

    def __enter__(self) -> SnakepitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_channel:
            self.channel.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    def connected(self, timeout: float = 0.2) -> bool:
        """Whether the channel is connected to a server (within ``timeout``).

        After a failed call this tells a status the server sent (connected)
        from one gRPC made up because no server answered.
        """
        try:
            self.wait_ready(timeout)
        except grpc.FutureTimeoutError:
            return False
        return True

    def ping(self, message: str = "") -> str:
        return str(self.stub.Ping(pb.PingRequest(message=message), timeout=self.timeout).message)

    @staticmethod
    def request(
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        session_id: str = "",
        binary: Mapping[str, bytes | codec.TypedBuffer] | None = None,
        metadata: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> pb.ExecuteToolRequest:
        """Parameters are sent 0.13-style (StringValue URL + JSON)."""
        request = pb.ExecuteToolRequest(
            tool_name=name, session_id=session_id, metadata=dict(metadata or {}), stream=stream
        )
        for key, value in (params or {}).items():
            request.parameters[key].CopyFrom(codec.encode_json_any(value))
        for key, data in (binary or {}).items():
            request.binary_parameters[key] = codec.pack_binary(data)
        return request

    def call_full(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        session_id: str = "",
        binary: Mapping[str, bytes | codec.TypedBuffer] | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CallResult:
        request = self.request(name, params, session_id=session_id, binary=binary, metadata=metadata)
        response = self.stub.ExecuteTool(request, timeout=timeout or self.timeout)
        if not response.success:
            raise RemoteError(response.error_message, response.metadata)
        return CallResult(
            value=codec.decode_any(response.result) if response.HasField("result") else None,
            binary=codec.unpack_binary(response.binary_result) if response.binary_result else None,
            metadata=dict(response.metadata),
            execution_time_ms=response.execution_time_ms,
        )

    def call(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The decoded result; a binary result is returned instead of its summary."""
        result = self.call_full(name, params, **kwargs)
        return result.binary if result.binary is not None else result.value

    def stream(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        session_id: str = "",
        binary: Mapping[str, bytes | codec.TypedBuffer] | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Generator[Any, None, None]:
        """Decoded chunk payloads; the terminal chunk is consumed, an error chunk raises.

        Closing the iterator early (``close()``, ``break``) cancels the call at once.
        """
        request = self.request(name, params, session_id=session_id, binary=binary, metadata=metadata, stream=True)
        call = self.stub.ExecuteStreamingTool(request, timeout=timeout or self.timeout)
        try:
            for chunk in call:
                if chunk.metadata.get("error") == "true":
                    raise RemoteError(chunk.metadata.get("error_message", "stream failed"), chunk.metadata)
                if chunk.data:
                    yield decode_chunk(chunk.data)
                if chunk.is_final:
                    return
        finally:
            call.cancel()  # a no-op once the stream has ended


def decode_chunk(data: bytes) -> Any:
    """JSON when it parses, else binary (typed buffer or raw bytes)."""
    if data.startswith(codec.BINARY_MAGIC):
        return codec.unpack_binary(data)
    try:
        return json.loads(data)
    except ValueError:
        return data
