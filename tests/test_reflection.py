"""Server reflection answers both protocol versions, each asked by a real client of that version.

v1alpha: grpcio-reflection's own client (``ProtoReflectionDescriptorDatabase``), in this process.
v1: grpclib's generated v1 stub, in a subprocess (grpclib registers its own copy of the
reflection messages in the default descriptor pool, which would clash with grpcio-reflection's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import grpc
import pytest

from snakepit_host.testing import RunningHost, running_host

BRIDGE = "snakepit.bridge.BridgeService"
V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"

V1_CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys
    from google.protobuf.descriptor_pb2 import FileDescriptorProto
    from grpclib.client import Channel
    from grpclib.reflection.v1.reflection_grpc import ServerReflectionStub
    from grpclib.reflection.v1.reflection_pb2 import ServerReflectionRequest

    def services_of(reply):
        files = [FileDescriptorProto.FromString(raw) for raw in reply.file_descriptor_response.file_descriptor_proto]
        return {f"{f.package}.{s.name}": [m.name for m in s.method] for f in files for s in f.service}

    async def main(port):
        async with Channel("127.0.0.1", port) as channel:
            listed, bridge, itself = await ServerReflectionStub(channel).ServerReflectionInfo(
                [
                    ServerReflectionRequest(list_services=""),
                    ServerReflectionRequest(file_containing_symbol="snakepit.bridge.BridgeService"),
                    ServerReflectionRequest(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
                ]
            )
        print(json.dumps({
            "services": sorted(s.name for s in listed.list_services_response.service),
            "bridge": services_of(bridge),
            "itself": services_of(itself),
        }))

    asyncio.run(main(int(sys.argv[1])))
    """
)


@pytest.fixture(scope="module")
def host() -> Iterator[RunningHost]:
    with running_host() as running:
        yield running


def test_v1alpha_with_grpcio_reflections_client(host: RunningHost) -> None:
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with grpc.insecure_channel(host.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert {BRIDGE, "grpc.health.v1.Health", V1, V1ALPHA} <= set(database.get_services())
        pool = DescriptorPool(database)
        methods = {m.name for m in pool.FindServiceByName(BRIDGE).methods}
        assert {"Ping", "ExecuteTool", "ExecuteStreamingTool", "GetVariable"} <= methods
        execute = pool.FindMethodByName(f"{BRIDGE}.ExecuteTool")
        assert execute.input_type.full_name == "snakepit.bridge.ExecuteToolRequest"
        assert [m.name for m in pool.FindServiceByName(V1).methods] == ["ServerReflectionInfo"]


def test_v1_with_grpclibs_client(host: RunningHost) -> None:
    port = host.address.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-c", V1_CLIENT, port], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {BRIDGE, "grpc.health.v1.Health", V1, V1ALPHA} <= set(answer["services"])
    assert {"Ping", "ExecuteTool", "GetVariable"} <= set(answer["bridge"][BRIDGE])
    assert answer["itself"] == {V1: ["ServerReflectionInfo"]}
