"""Calls over a real server: validation, conversion, ctx, errors, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
from typing import Any

import grpc
import numpy
import numpy.typing as npt
import pydantic
import pytest
from snakepit_tools import tool

from snakepit_host import SessionContext, TypedBuffer
from snakepit_host.host_client import RemoteError


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)

    @pydantic.field_validator("name")
    @classmethod
    def capitalised(cls, name: str) -> str:
        if not name[:1].isupper():
            raise ValueError("name must start with a capital letter")
        return name


def typed(a: int, b: float, c: str, d: bool, mode: Mode = Mode.FAST) -> dict[str, Any]:
    """Five typed parameters."""
    return {"a": a, "b": b, "c": c, "d": d, "mode": mode.name}


def converted(
    array: npt.NDArray[numpy.float64],
    point: Point,
    person: Person,
    pair: tuple[int, str],
    labels: set[str],
    modes: list[Mode],
    blob: bytes = b"",
    count: int = 0,
) -> dict[str, Any]:
    """Reports what the hints turned the JSON values into."""
    return {
        "array": [type(array).__name__, str(array.dtype), list(array.shape), float(array.sum())],
        "point": repr(point),
        "person": repr(person),
        "pair": repr(pair),
        "labels": sorted(labels) if isinstance(labels, set) else "not a set",
        "modes": [m.name for m in modes],
        "blob": blob.hex(),
        "count": [type(count).__name__, count],
    }


def whoami(ctx: SessionContext, suffix: str = "") -> str:
    return ctx.session_id + suffix


def fails(x: int) -> int:
    raise ValueError(f"x must be odd, got {x}")


def unserializable() -> object:
    return object()


async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def numbers(n: int) -> Any:
    yield from range(n)


class Gate:
    """Lets a tool block until the test releases it, and records what the tool saw."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()
        self.saw_cancelled: bool | None = None


def blocking_tool(gate: Gate) -> Any:
    @tool(name="blocks", timeout=0.3)
    def blocks(ctx: SessionContext) -> str:
        gate.release.wait(30)
        gate.saw_cancelled = ctx.cancelled
        gate.finished.set()
        return "done"

    return blocks


def polling_tool(gate: Gate) -> Any:
    def polls(ctx: SessionContext) -> str:
        """Works until the caller goes away (a sync tool checks ctx.cancelled)."""
        gate.release.set()
        while not ctx.cancelled and not gate.finished.wait(0.01):
            pass
        gate.saw_cancelled = ctx.cancelled
        gate.finished.set()
        return "stopped"

    return polls


def async_blocking_tool(gate: Gate) -> Any:
    @tool(name="async_blocks", timeout=0.3)
    async def async_blocks() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            gate.saw_cancelled = True
            gate.finished.set()
            raise
        return "done"

    return async_blocks


@pytest.fixture
def client(serve: Any, tools_from: Any) -> Any:
    handle = serve(tools_from(typed, converted, whoami, fails, unserializable, async_add, numbers))
    return handle.client()


def test_valid_call_and_conversions(client: Any) -> None:
    assert client.call("typed", {"a": 1, "b": 2, "c": "x", "d": True, "mode": "slow"}) == {
        "a": 1,
        "b": 2,
        "c": "x",
        "d": True,
        "mode": "SLOW",
    }
    result = client.call(
        "converted",
        {
            "array": [[1, 2], [3, 4.5]],
            "point": {"x": 1.5},
            "person": {"name": "Ada", "age": 36},
            "pair": [7, "seven"],
            "labels": ["b", "a"],
            "modes": ["fast", "slow"],
            "blob": "AAEC",
            "count": 3.0,  # Snakepit 0.4 sends whole numbers as floats; the int hint gets an int
        },
    )
    assert result == {
        "array": ["ndarray", "float64", [2, 2], 10.5],
        "point": "Point(x=1.5, y=0.0)",
        "person": "Person(name='Ada', age=36)",
        "pair": "(7, 'seven')",
        "labels": ["a", "b"],
        "modes": ["FAST", "SLOW"],
        "blob": "000102",
        "count": ["int", 3],
    }


def test_binary_parameters_become_arrays_and_bytes(client: Any) -> None:
    array = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    result = client.call(
        "converted",
        {"point": {"x": 0}, "person": {"name": "A", "age": 1}, "pair": [1, "a"], "labels": [], "modes": []},
        binary={"array": TypedBuffer.from_array(array), "blob": b"\x00\xff"},
    )
    assert result["array"] == ["ndarray", "float64", [2, 3], 15.0]  # cast to the dtype the hint names
    assert result["blob"] == "00ff"


def test_every_problem_is_listed_at_once_and_the_host_keeps_serving(client: Any) -> None:
    with pytest.raises(RemoteError) as caught:
        client.call("typed", {"a": "one", "b": 2, "d": "yes", "mode": "medium", "extra": 1})
    message = caught.value.message
    assert message.startswith("tool 'typed': 5 problems with the parameters: ")
    for fragment in (
        "missing required parameter 'c'",
        "unknown parameter 'extra'",
        "parameter 'a': 'one' is not of type 'integer'",
        "parameter 'd': 'yes' is not of type 'boolean'",
        "parameter 'mode': 'medium' is not one of ['fast', 'slow']",
    ):
        assert fragment in message
    assert caught.value.error_type == "InvalidArgument"
    assert client.call("typed", {"a": 1, "b": 2.5, "c": "x", "d": False})["a"] == 1


def test_conversion_failures_name_the_parameter(client: Any) -> None:
    base = {"point": {"x": 0}, "person": {"name": "A", "age": 1}, "pair": [1, "a"], "labels": [], "modes": []}
    with pytest.raises(RemoteError) as caught:
        client.call("converted", {**base, "array": [[1, 2], [3]], "person": {"name": "ada", "age": 1}})
    message = caught.value.message
    assert message.startswith("tool 'converted': 2 problems with the parameters: ")
    assert "parameter 'array': " in message and "inhomogeneous" in message
    assert "parameter 'person': " in message and "name must start with a capital letter" in message
    with pytest.raises(RemoteError, match="parameter 'pair' arrived as binary data, but it does not accept binary"):
        client.call("converted", {**base, "array": [1]}, binary={"pair": b"xx"})
    with pytest.raises(RemoteError, match="parameter 'array': raw bytes cannot be an array"):
        client.call("converted", base, binary={"array": b"\x00\x01"})


def test_context_parameter_and_async_tools(client: Any) -> None:
    assert client.call("whoami", {"suffix": "!"}, session_id="s-42") == "s-42!"
    assert client.call("async_add", {"a": 2, "b": 3}) == 5


def test_unknown_tool_raises_and_unserializable_results(client: Any) -> None:
    with pytest.raises(RemoteError) as caught:
        client.call("typd", {})
    assert "unknown command 'typd'; did you mean typed?" in caught.value.message
    assert caught.value.error_type == "NotFound"
    with pytest.raises(RemoteError, match="^ValueError: x must be odd, got 2$"):
        client.call("fails", {"x": 2})
    with pytest.raises(
        RemoteError, match="result of 'unserializable' cannot be sent: .*object is not JSON-serializable"
    ):
        client.call("unserializable")
    with pytest.raises(RemoteError, match="numbers is a streaming command; call it with ExecuteStreamingTool"):
        client.call("numbers", {"n": 2})
    assert client.call("typed", {"a": 1, "b": 1, "c": "", "d": True})["c"] == ""


def test_timeout_answers_at_the_deadline_and_flags_the_tool(serve: Any, tools_from: Any) -> None:
    gate = Gate()
    client = serve(tools_from(blocking_tool(gate))).client()
    with pytest.raises(RemoteError, match="blocks timed out after 0.3 s") as caught:
        client.call("blocks")
    assert caught.value.error_type == "DeadlineExceeded"
    gate.release.set()
    assert gate.finished.wait(10)
    assert gate.saw_cancelled is True


def test_host_wide_call_timeout_applies_to_tools(serve: Any, tools_from: Any) -> None:
    gate = Gate()
    client = serve(tools_from(polling_tool(gate)), call_timeout=0.3).client()
    with pytest.raises(RemoteError, match="polls timed out after 0.3 s"):
        client.call("polls")
    assert gate.finished.wait(10) and gate.saw_cancelled is True


def test_async_tool_is_cancelled_on_timeout(serve: Any, tools_from: Any) -> None:
    gate = Gate()
    client = serve(tools_from(async_blocking_tool(gate))).client()
    with pytest.raises(RemoteError, match="async_blocks timed out after 0.3 s"):
        client.call("async_blocks")
    assert gate.finished.wait(10) and gate.saw_cancelled is True


def test_a_sync_tool_sees_the_client_go_away(serve: Any, tools_from: Any) -> None:
    gate = Gate()
    client = serve(tools_from(polling_tool(gate))).client()
    future = client.stub.ExecuteTool.future(client.request("polls"))
    assert gate.release.wait(10)  # the tool is running
    future.cancel()
    assert gate.finished.wait(10)
    assert gate.saw_cancelled is True
    with pytest.raises(grpc.FutureCancelledError):
        future.result()
