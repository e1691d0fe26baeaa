"""Stand-in for Snakepit's generated module: registers the proto package snakepit.bridge.

Like the real generated code, it adds a file named ``snakepit_bridge.proto``
with messages of package ``snakepit.bridge`` to protobuf's default pool, so
it cannot load in a process that already holds the host's messages
("duplicate symbol"). snakepit-host must stand in for it before it is imported.
"""

from google.protobuf import descriptor_pb2, descriptor_pool

_file = descriptor_pb2.FileDescriptorProto(name="snakepit_bridge.proto", package="snakepit.bridge", syntax="proto3")
_ping = _file.message_type.add(name="PingRequest")
_ping.field.add(name="message", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=1)
DESCRIPTOR = descriptor_pool.Default().AddSerializedFile(_file.SerializeToString())
