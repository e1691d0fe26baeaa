"""The benchmark baseline: the least a Python BridgeService worker can be.

A plain synchronous ``grpc.server`` with the host's defaults (16 threads,
100 MiB message limits, no port sharing) that implements only ``Ping`` and
``ExecuteTool``. ExecuteTool echoes: every parameter's JSON is decoded and
the map is sent back as one JSON ``Any``; a binary parameter comes back as
``binary_result``. That is the work the host's built-in ``echo`` does, minus
everything the host adds (plugins, sessions, dispatch, schemas), so the
ratio host/bare is the price of the host.

The generated modules are loaded without running ``snakepit_host/__init__.py``
(see :func:`_isolate_host_package`): the baseline pays for grpcio and protobuf,
not for the host package.

Run: ``python bench/bare_server.py [--port 0]``; prints ``GRPC_READY:<port>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import sys
import threading
import types
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

    def ExecuteTool(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> pb.ExecuteToolResponse:
        params = {name: json.loads(value.value) for name, value in request.parameters.items()}
        response = pb.ExecuteToolResponse(success=True)
        response.result.type_url = MAP_TYPE_URL
        response.result.value = json.dumps(params, separators=(",", ":")).encode()
        if request.binary_parameters:
            response.binary_result = next(iter(request.binary_parameters.values()))
        return response


def main() -> int:
    parser = argparse.ArgumentParser(description="bare grpcio echo server (benchmark baseline)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-workers", type=int, default=MAX_WORKERS)
    args = parser.parse_args()
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
    while not stop.wait(1.0):
        pass
    server.stop(1.0).wait(2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
