"""The benchmark baseline: the least a Python BridgeService worker can be.

A plain synchronous ``grpc.server`` with the host's defaults (16 threads,
100 MiB message limits, no port sharing). ExecuteTool echoes: every
parameter's JSON is decoded and the map is sent back as one JSON ``Any``; a
binary parameter comes back as ``binary_result``. That is the work the host's
built-in ``echo`` does, minus everything the host adds (plugins, sessions,
dispatch, schemas), so the ratio host/bare is the price of the host. The
tool ``ping`` answers as Snakepit's own showcase ``ping`` does
(``{"message": "pong", "timestamp": ...}``).

Launched the way Snakepit 0.13 launches a worker (``bench/bench_snakepit13.py``),
it does the least such a worker must: unknown flags are ignored, the port is
written atomically to ``$SNAKEPIT_READY_FILE``, ``SNAKEPIT_PROCESS_GROUP=1``
makes it a process-group leader, InitializeSession succeeds, Heartbeat
answers ``session_valid``, and StreamTelemetry sends its headers at once and
stays open (sending nothing) until the client ends it or its deadline passes.

The generated modules are loaded without running ``snakepit_host/__init__.py``
(see :func:`_isolate_host_package`): the baseline pays for grpcio and protobuf,
not for the host package.

Run: ``python bench/bare_server.py [--port 0]``; prints ``GRPC_READY:<port>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent import futures

import grpc

MAX_MESSAGE_BYTES = 100 * 1024 * 1024
MAX_WORKERS = 16
MAP_TYPE_URL = "type.googleapis.com/snakepit.map"


def _isolate_host_package() -> None:
    """Let ``snakepit_host.proto`` import without running ``snakepit_host/__init__.py``.

    The generated gRPC module imports ``snakepit_host.proto.snakepit_bridge_pb2``;
    importing that normally runs the host's ``__init__`` (codec, pluggy, hook
    specs). Empty package modules pointing at the same directories let the
    generated submodules import on their own.
    """
    spec = importlib.util.find_spec("snakepit_host")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bare_server: snakepit_host is not installed (pip install -e .)")
    root = next(iter(spec.submodule_search_locations))
    for name, path in (("snakepit_host", root), ("snakepit_host.proto", f"{root}/proto")):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules.setdefault(name, package)


_isolate_host_package()

from snakepit_host.proto import snakepit_bridge_pb2 as pb  # noqa: E402  (needs the isolation above)
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc  # noqa: E402


class EchoServicer(pb_grpc.BridgeServiceServicer):
    def Ping(self, request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        return pb.PingResponse(message=f"Pong: {request.message}")

    def InitializeSession(
        self, request: pb.InitializeSessionRequest, context: grpc.ServicerContext
    ) -> pb.InitializeSessionResponse:
        return pb.InitializeSessionResponse(success=True)

    def Heartbeat(self, request: pb.HeartbeatRequest, context: grpc.ServicerContext) -> pb.HeartbeatResponse:
        response = pb.HeartbeatResponse(session_valid=True)
        response.server_time.GetCurrentTime()
        return response

    def StreamTelemetry(
        self, request_iterator: Iterator[pb.TelemetryControl], context: grpc.ServicerContext
    ) -> Iterator[pb.TelemetryEvent]:
        context.send_initial_metadata(())
        threading.Thread(target=_drain, args=(request_iterator,), daemon=True).start()
        while context.is_active():
            time.sleep(0.25)
        return
        yield  # a generator that yields nothing

    def ExecuteTool(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> pb.ExecuteToolResponse:
        params = {name: json.loads(value.value) for name, value in request.parameters.items()}
        if request.tool_name == "ping":
            params = {"message": params.get("message", "pong"), "timestamp": str(time.time())}
        response = pb.ExecuteToolResponse(success=True)
        response.result.type_url = MAP_TYPE_URL
        response.result.value = json.dumps(params, separators=(",", ":")).encode()
        if request.binary_parameters:
            response.binary_result = next(iter(request.binary_parameters.values()))
        return response


def _drain(requests: Iterator[pb.TelemetryControl]) -> None:
    try:
        for _ in requests:
            pass
    except grpc.RpcError:  # the call ended
        pass


def _write_ready_file(path: str, port: int) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(str(port))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def main() -> int:
    parser = argparse.ArgumentParser(description="bare grpcio echo server (benchmark baseline)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-workers", type=int, default=MAX_WORKERS)
    args, _ = parser.parse_known_args()  # Snakepit's launch flags (--adapter, --elixir-address...) are ignored
    if os.environ.get("SNAKEPIT_PROCESS_GROUP") == "1":
        os.setsid()
    options = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.max_workers), options=options)
    pb_grpc.add_BridgeServiceServicer_to_server(EchoServicer(), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    if port == 0:
        print(f"bare_server: cannot listen on port {args.port}", file=sys.stderr)
        return 1
    server.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: stop.set())
    sys.stdout.write(f"GRPC_READY:{port}\n")
    sys.stdout.flush()
    ready_file = os.environ.get("SNAKEPIT_READY_FILE")
    if ready_file:
        _write_ready_file(ready_file, port)
    while not stop.wait(1.0):
        pass
    server.stop(1.0).wait(2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
