"""A small ShowcaseAdapter in 0.13's shape: handler tools first in execute_tool, then the decorated methods."""

import os
import time

from snakepit_bridge import (
    SessionContext,  # noqa: F401  (the real one imports it, unused)
    telemetry,
)
from snakepit_bridge.adapters.showcase.tool import StreamChunk, Tool
from snakepit_bridge.base_adapter import BaseAdapter, tool

_SESSIONS: dict = {}


def ping(ctx, message="pong"):
    return {"message": message, "timestamp": str(time.time())}


def echo(ctx, **kwargs):
    return {"echoed": kwargs}


def add(ctx, a, b):
    with telemetry.span("tool.execution"):
        return a + b


def error_demo(ctx, error_type="generic"):
    if error_type == "value":
        raise ValueError("This is a demonstration ValueError")
    if error_type == "runtime":
        raise RuntimeError("This is a demonstration RuntimeError")
    raise Exception("This is a generic exception")


def adapter_info(ctx):
    return {"adapter_name": "ShowcaseAdapter", "version": "2.0.0", "capabilities": ["streaming"], "handlers": ["basic"]}


def init_session(ctx, **kwargs):
    _SESSIONS[ctx.session_id] = {"counter": 0}
    return {"worker_pid": os.getpid(), "session_id": ctx.session_id}


def increment_counter(ctx):
    state = _SESSIONS.setdefault(ctx.session_id, {"counter": 0})
    state["counter"] += 1
    return {"value": state["counter"]}


def stream_progress(ctx, steps=10, delay_ms=500):
    for step in range(1, steps + 1):
        time.sleep(delay_ms / 1000)
        payload = {"step": step, "total": steps, "progress": round(step / steps * 100, 1)}
        yield StreamChunk(payload, is_final=step == steps)


HANDLER_TOOLS = {
    f.__name__: Tool(f)
    for f in (ping, echo, add, error_demo, adapter_info, init_session, increment_counter, stream_progress)
}


class ShowcaseAdapter(BaseAdapter):
    def __init__(self):
        super().__init__()
        self._handler_tools = dict(HANDLER_TOOLS)
        self.session_context = None

    def set_session_context(self, session_context):
        self.session_context = session_context

    def execute_tool(self, tool_name, arguments, context):
        if tool_name in self._handler_tools:
            return self._handler_tools[tool_name].func(context, **arguments)
        return self.call_tool(tool_name, **arguments)

    @tool(description="Get adapter information and capabilities")
    def adapter_info(self):
        return adapter_info(self.session_context)

    @tool(description="Echo back provided arguments")
    def echo(self, **kwargs):
        return echo(self.session_context, **kwargs)

    @tool(description="Add two numbers")
    def basic_add(self, a: float, b: float) -> float:
        return add(self.session_context, a, b)

    @tool(description="Process text with various operations")
    def process_text(self, text: str, operation: str = "upper"):
        operations = {"upper": str.upper, "lower": str.lower, "reverse": lambda t: t[::-1], "length": len}
        if operation not in operations:
            return {
                "original": text,
                "operation": operation,
                "error": f"Unknown operation: {operation}",
                "success": False,
            }
        return {"original": text, "operation": operation, "result": operations[operation](text), "success": True}

    @tool(description="Stream data in chunks", supports_streaming=True)
    def stream_data(self, count: int = 5, delay: float = 1.0):
        for index in range(1, count + 1):
            time.sleep(delay)
            yield StreamChunk(
                {"index": index, "total": count, "message": f"Chunk {index}/{count}"}, is_final=index == count
            )
