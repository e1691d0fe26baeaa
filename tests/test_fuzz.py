"""Property-based fuzzing of every BridgeService method on a real server.

Random (often malformed) messages are generated from the proto descriptors
themselves, so every method and every field is covered, including the RPCs
that installed plugins serve. Invariants: each call ends within its deadline
with a deliberate answer (never INTERNAL/UNKNOWN, which would mean an
unhandled exception), the host keeps serving afterwards, and its state stays
consistent: variables registered before fuzzing keep their values and
versions, every live session id is a valid one, and a call that fails
validation (unknown command, undecodable parameters, bad variable name or
type, or any RPC that never creates sessions) leaves no new session behind.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakepit_host import codec
from snakepit_host._errors import SnakepitError
from snakepit_host._host import Host
from snakepit_host._sessions import check_session_id
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.testing import RunningHost, running_host

SERVICE = pb.DESCRIPTOR.services_by_name["BridgeService"]
BAD_STATUSES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
# Streams that legitimately stay open waiting for events; a deadline ends them.
OPEN_ENDED = {"WatchVariables", "StreamTelemetry"}

# Longer than any generated string (max 40) and not among NAMES: no fuzz call can name it.
GUARDED_SESSION = "guarded-session-that-no-fuzz-call-can-name-0001"
GUARDED_VARIABLES: dict[str, tuple[str, list[Any]]] = {
    "x": ("float", [0.25, 0.5, 0.75]),
    "temperature": ("integer", [3]),
    "label": ("string", ["kept"]),
}
NAMES = ["echo", "ping", "describe", "default_session", "s1", "x", "temperature", "", "../etc/passwd", "a\x00b"]
TYPE_URLS = [
    "type.googleapis.com/snakepit.float",
    "type.googleapis.com/snakepit.integer",
    "type.googleapis.com/snakepit.string",
    "type.googleapis.com/snakepit.tensor",
    "type.googleapis.com/snakepit.embedding.binary",
    "type.googleapis.com/google.protobuf.StringValue",
    "type.googleapis.com/google.protobuf.Value",
    "",
]
JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
).map(lambda value: json.dumps(value, allow_nan=True).encode())
STRINGS = st.sampled_from(NAMES) | st.text(max_size=40)
BINARY = st.binary(max_size=64) | st.builds(
    lambda header, data: b"SPKB\x01" + len(header).to_bytes(4, "little") + header + data,
    st.sampled_from([b'{"dtype":"float32","shape":[2]}', b'{"dtype":"float64","shape":[1000000]}', b"{}", b"[]"]),
    st.binary(max_size=16),
)


def any_values() -> st.SearchStrategy[Message]:
    from google.protobuf.any_pb2 import Any as AnyMessage

    return st.builds(
        lambda url, value: AnyMessage(type_url=url, value=value),
        st.sampled_from(TYPE_URLS) | st.text(max_size=30),
        JSON_TEXT | st.binary(max_size=32),
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return STRINGS
    if kind == FieldDescriptor.TYPE_BYTES:
        return BINARY
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return st.integers(-(2**31), 2**31 - 1)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return st.integers(-(2**63), 2**63 - 1)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats()
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise AssertionError(f"unhandled field type {kind}")


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    if descriptor.full_name == "google.protobuf.Any":
        return any_values()
    cls = message_factory.GetMessageClass(descriptor)
    if depth > 2:
        return st.just(cls())
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = _scalar(field.message_type.fields_by_name["key"])
            value_field = field.message_type.fields_by_name["value"]
            value = messages(value_field.message_type, depth + 1) if value_field.message_type else _scalar(value_field)
            fields[field.name] = st.dictionaries(key, value, max_size=3)
        elif field.message_type is not None:
            single = messages(field.message_type, depth + 1)
            fields[field.name] = st.lists(single, max_size=2) if _repeated(field) else single
        else:
            fields[field.name] = st.lists(_scalar(field), max_size=3) if _repeated(field) else _scalar(field)

    def build(values: dict[str, Any]) -> Message:
        message = cls()
        for name, value in values.items():
            target = getattr(message, name)
            if isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, Message):
                        target[key].CopyFrom(item)
                    else:
                        target[key] = item
            elif isinstance(value, list):
                target.extend(value)
            elif isinstance(value, Message):
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=fields).map(build)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


@pytest.fixture(scope="module")
def served() -> Iterator[RunningHost]:
    with running_host(entry_points=True, session_ttl=600, max_sessions=2000) as running:
        client = running.client()
        for name, (type_name, values) in GUARDED_VARIABLES.items():
            client.call(
                "register_variable", {"name": name, "type": type_name, "value": values[0]}, session_id=GUARDED_SESSION
            )
            for value in values[1:]:
                client.call("set_variable", {"name": name, "value": value}, session_id=GUARDED_SESSION)
        yield running


def _guarded_state(client: Any) -> dict[str, tuple[Any, int]]:
    listed = client.call("list_variables", {}, session_id=GUARDED_SESSION)
    return {v["name"]: (v["value"], v["version"]) for v in listed}


def _may_create_session(method: str, request: Any, host: Host) -> bool:
    """Whether a call may leave a new session behind: only one that passed the checks made before any handler."""
    if method == "InitializeSession":
        return True
    if method in ("ExecuteTool", "ExecuteStreamingTool"):
        if request.tool_name not in host.registry.commands:
            return False
        try:
            codec.decode_parameters(request.parameters, request.binary_parameters)
            for data in request.binary_parameters.values():
                codec.unpack_binary(data)
        except SnakepitError:
            return False
        return True
    if method == "RegisterVariable":
        return bool(NAME_RULE.match(request.name)) and len(request.name) <= 128 and request.type in host.registry.types
    return False


NAME_RULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
"""snakepit-variables' rule for variable names."""


def _call(channel: grpc.Channel, method: Any, request: Message, host: Host) -> None:
    before = set(host.sessions.ids())
    try:
        _send(channel, method, request)
    finally:
        created = set(host.sessions.ids()) - before
        if created:
            assert _may_create_session(method.name, request, host), (
                f"{method.name} failed validation yet created {created}"
            )
            for session_id in created:
                check_session_id(session_id)


def _send(channel: grpc.Channel, method: Any, request: Message) -> None:
    path = f"/{SERVICE.full_name}/{method.name}"
    serialize = type(request).SerializeToString
    deserialize = message_factory.GetMessageClass(method.output_type).FromString
    try:
        wait = 0.3 if method.name in OPEN_ENDED else 2
        if method.client_streaming:
            call = channel.stream_stream(path, serialize, deserialize)
            for _ in call(iter([request]), timeout=wait):
                pass
        elif method.server_streaming:
            stream = channel.unary_stream(path, serialize, deserialize)
            for index, _ in enumerate(stream(request, timeout=wait)):
                if index > 50:
                    break
        else:
            channel.unary_unary(path, serialize, deserialize)(request, timeout=5)
    except grpc.RpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and method.name in OPEN_ENDED:
            return
        assert code not in BAD_STATUSES, f"{method.name} answered {code.name}: {exc.details()}"
        assert code != grpc.StatusCode.DEADLINE_EXCEEDED, f"{method.name} hung on {request!r}"


@pytest.mark.parametrize("method_name", list(SERVICE.methods_by_name))
def test_random_messages(served: RunningHost, method_name: str) -> None:
    method = SERVICE.methods_by_name[method_name]
    client = served.client()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(messages(method.input_type))
    def check(request: Message) -> None:
        _call(client.channel, method, request, served.host)
        assert client.ping("still there").endswith("still there")

    check()


@given(st.binary(max_size=256))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_raw_garbage_to_every_method(served: RunningHost, garbage: bytes) -> None:
    channel = served.client().channel
    for method in SERVICE.methods_by_name.values():
        path = f"/{SERVICE.full_name}/{method.name}"
        try:
            if method.server_streaming or method.client_streaming:
                wait = 0.3 if method.name in OPEN_ENDED else 1
                responses: Iterator[bytes]
                if method.client_streaming:
                    bidirectional: grpc.StreamStreamMultiCallable[bytes, bytes] = channel.stream_stream(path)
                    responses = bidirectional(iter([garbage]), timeout=wait)
                else:
                    streaming: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(path)
                    responses = streaming(garbage, timeout=wait)
                for index, _ in enumerate(responses):
                    if index > 20:
                        break
            else:
                unary: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
                unary(garbage, timeout=3)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and method.name in OPEN_ENDED:
                continue
            # grpc answers an undecodable request with INTERNAL "Exception deserializing request!"
            # before any handler runs; anything else must be a deliberate status.
            if exc.code() == grpc.StatusCode.INTERNAL:
                assert "deserializ" in (exc.details() or "").lower(), exc.details()
            else:
                assert exc.code() not in BAD_STATUSES
                assert exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED, f"{method.name} hung"
    assert served.client().ping().startswith("Pong")


def test_host_state_stays_bounded_after_fuzzing(served: RunningHost) -> None:
    assert threading.active_count() < 200
    assert len(served.host.sessions) <= served.host.sessions.max_sessions


def test_state_stays_consistent_after_fuzzing(served: RunningHost) -> None:
    client = served.client()
    expected = {name: (values[-1], len(values) - 1) for name, (_, values) in GUARDED_VARIABLES.items()}
    assert _guarded_state(client) == expected
    for session_id in served.host.sessions.ids():
        check_session_id(session_id)
