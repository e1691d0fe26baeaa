"""gRPC server reflection, in both versions that clients ask for: v1 and v1alpha.

grpcio-reflection implements only ``grpc.reflection.v1alpha``, while current
clients (grpcurl, grpcui, Postman) ask for ``grpc.reflection.v1`` first. The
two are the same protocol under another package name: the same messages, with
the same fields and numbers. So one v1alpha servicer answers on both method
paths, and the bytes are what a v1 client expects. For a v1 client to describe
the v1 service itself, its descriptor is derived from v1alpha's by renaming the
package; it goes into a private pool (with copies of the served files), never
into the default pool, where other code, or a later grpcio-reflection with a v1
module of its own, may register the same names.

Imported on the first reflection call only (see ``LazyStandardServices``).
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, text_format
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME


def reflection_handlers(files: tuple[Any, ...]) -> list[grpc.GenericRpcHandler]:
    """Handlers for both reflection services, describing the services of ``files`` and themselves."""
    pool = descriptor_pool.DescriptorPool()
    copied: set[str] = set()
    for file in (*files, reflection_pb2.DESCRIPTOR):
        _copy_file(pool, file, copied)
    pool.Add(_as_v1(reflection_pb2.DESCRIPTOR))
    names = [service.full_name for file in files for service in file.services_by_name.values()]
    servicer = reflection.ReflectionServicer((*names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME), pool=pool)
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return [
        grpc.method_handlers_generic_handler(service, {"ServerReflectionInfo": method})
        for service in (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
    ]


def _copy_file(pool: descriptor_pool.DescriptorPool, file: Any, copied: set[str]) -> None:
    """Add ``file`` to ``pool`` after its dependencies (a pool accepts a file only then)."""
    if file.name in copied:
        return
    for dependency in file.dependencies:
        _copy_file(pool, dependency, copied)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)
    copied.add(file.name)


def _as_v1(v1alpha_file: Any) -> descriptor_pb2.FileDescriptorProto:
    """The v1 reflection file: v1alpha's, with every ``v1alpha`` in names renamed ``v1``."""
    proto = descriptor_pb2.FileDescriptorProto()
    v1alpha_file.CopyToProto(proto)
    return text_format.Parse(
        text_format.MessageToString(proto).replace("v1alpha", "v1"), descriptor_pb2.FileDescriptorProto()
    )
