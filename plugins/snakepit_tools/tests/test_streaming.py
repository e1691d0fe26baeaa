"""Streaming tools over ExecuteStreamingTool: framing, errors, backpressure, disconnects."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import FrameType
from typing import Any

import grpc
import pytest
from snakepit_tools import tool

from snakepit_host.host_client import RemoteError

ITEM_BYTES = 128 * 1024
MAX_ITEMS = 1000  # a producer without backpressure stops here (128 MiB) rather than exhaust memory


class Flood:
    """A producer that counts how far it got and notices being closed."""

    def __init__(self) -> None:
        self.produced = 0
        self.closed = threading.Event()

    def tool(self) -> Any:
        def flood(size: int) -> Iterator[bytes]:
            """Yields ``size`` bytes per item as fast as it is allowed to."""
            try:
                while self.produced < MAX_ITEMS:
                    self.produced += 1
                    yield b"x" * size
            finally:
                self.closed.set()

        return flood


def count(n: int, start: int = 0) -> Iterator[dict[str, int]]:
    for i in range(start, start + n):
        yield {"i": i}


def fails_midway(n: int) -> Iterator[int]:
    yield from range(n)
    raise RuntimeError(f"broke after {n} items")


def bad_item() -> Iterator[Any]:
    yield 1
    yield object()


async def async_count(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def frames_running(code: Any) -> bool:
    """Whether any thread is executing ``code`` right now."""
    for top in sys._current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            if frame.f_code is code:
                return True
            frame = frame.f_back
    return False


def chunks(client: Any, name: str, params: dict[str, Any]) -> list[Any]:
    return list(client.stub.ExecuteStreamingTool(client.request(name, params, stream=True), timeout=30))


@pytest.fixture
def client(serve: Any, tools_from: Any) -> Any:
    return serve(tools_from(count, fails_midway, bad_item, async_count)).client()


def test_one_chunk_per_item_then_one_final_chunk(client: Any) -> None:
    received = chunks(client, "count", {"n": 3, "start": 5})
    assert [c.chunk_id for c in received] == ["count-1", "count-2", "count-3", "count-4"]
    assert [json.loads(c.data) for c in received[:3]] == [{"i": 5}, {"i": 6}, {"i": 7}]
    assert [c.is_final for c in received] == [False, False, False, True]
    assert received[-1].data == b""
    assert list(client.stream("async_count", {"n": 3})) == [0, 1, 2]


def test_an_error_mid_stream_is_a_final_error_chunk(client: Any) -> None:
    received = chunks(client, "fails_midway", {"n": 2})
    assert [c.is_final for c in received] == [False, False, True]
    final = received[-1]
    assert final.metadata["error"] == "true"
    assert final.metadata["error_message"] == "RuntimeError: broke after 2 items"
    assert json.loads(final.data)["error"]["type"] == "RuntimeError"
    with pytest.raises(RemoteError, match="item 2 of bad_item cannot be encoded: .*object is not JSON-serializable"):
        list(client.stream("bad_item", {}))
    assert list(client.stream("count", {"n": 1})) == [{"i": 0}]  # still serving


def test_invalid_parameters_fail_the_stream_before_any_item(client: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        chunks(client, "count", {"n": "three", "stop": 1})
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == (
        "tool 'count': 2 problems with the parameters: unknown parameter 'stop' (accepted: n, start); "
        "parameter 'n': 'three' is not of type 'integer'"
    )


def test_a_slow_reader_holds_the_producer_back(serve: Any, tools_from: Any) -> None:
    flood = Flood()
    client = serve(tools_from(flood.tool())).client()
    call = client.stub.ExecuteStreamingTool(client.request("flood", {"size": ITEM_BYTES}, stream=True), timeout=60)
    read = 0
    for _ in call:
        read += 1
        time.sleep(0.1)  # a slow consumer; without backpressure the producer would reach MAX_ITEMS meanwhile
        if read == 10:
            break
    ahead = flood.produced - read
    # What is in flight is bounded by gRPC/HTTP2 flow-control windows (a few MiB), not by the stream's length.
    assert ahead * ITEM_BYTES <= 32 * 1024 * 1024, f"producer ran {ahead} items ahead of the reader"
    assert flood.produced < MAX_ITEMS
    call.cancel()
    assert flood.closed.wait(10)


def test_a_client_that_leaves_halfway_closes_the_generator_and_leaks_no_thread(serve: Any, tools_from: Any) -> None:
    flood = Flood()
    function = flood.tool()
    client = serve(tools_from(function)).client()

    def leave_halfway() -> None:
        flood.closed.clear()
        call = client.stub.ExecuteStreamingTool(client.request("flood", {"size": 1024}, stream=True), timeout=60)
        for index, _ in enumerate(call):
            if index == 3:
                break
        call.cancel()
        assert flood.closed.wait(10), "the generator's finally block did not run"

    leave_halfway()
    settled = threading.active_count()
    for _ in range(5):
        leave_halfway()
    deadline = time.monotonic() + 10
    while frames_running(function.__code__) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not frames_running(function.__code__)
    assert threading.active_count() <= settled + 1  # server threads are reused, not piled up
    assert [t["name"] for t in client.call("list_tools")["tools"]] == ["flood"]  # still serving


def test_async_generator_is_cancelled_when_the_client_leaves(serve: Any, tools_from: Any) -> None:
    stopped = threading.Event()

    async def waits_forever() -> AsyncIterator[str]:
        try:
            yield "first"
            await asyncio.sleep(60)
            yield "never"
        finally:
            stopped.set()

    client = serve(tools_from(waits_forever)).client()
    call = client.stub.ExecuteStreamingTool(client.request("waits_forever", {}, stream=True), timeout=60)
    assert json.loads(next(iter(call)).data) == "first"
    call.cancel()
    assert stopped.wait(10)


def test_an_item_slower_than_the_timeout_ends_the_stream_with_an_error(serve: Any, tools_from: Any) -> None:
    release = threading.Event()

    @tool(timeout=0.2)
    def slow_items() -> Iterator[int]:
        yield 1
        release.wait(30)
        yield 2

    client = serve(tools_from(slow_items)).client()
    stream = client.stream("slow_items", {})
    assert next(stream) == 1
    threading.Timer(0.5, release.set).start()  # the second item takes at least 0.5 s
    with pytest.raises(RemoteError, match="slow_items took longer than 0.2 s to produce an item"):
        next(stream)
