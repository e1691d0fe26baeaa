"""A small ShowcaseAdapter in 0.4.1's shape (import path ...showcase.showcase_adapter.ShowcaseAdapter)."""

import time

from snakepit_bridge.adapters.showcase.tool import StreamChunk, Tool
from snakepit_bridge.base_adapter import BaseAdapter, tool


def ping(ctx, message="pong"):
    return {"message": message, "timestamp": str(time.time())}


def echo(ctx, **kwargs):
    return {"echoed": kwargs}


def add(ctx, a, b):
    return a + b


def error_demo(ctx, error_type="generic"):
    if error_type == "value":
        raise ValueError("This is a demonstration ValueError")
    raise Exception("This is a generic exception")


def stream_progress(ctx, steps=10):
    for step in range(1, steps + 1):
        yield StreamChunk({"step": step, "total": steps, "message": f"Processing step {step}/{steps}"})


def greetings(ctx, names=()):
    yield from (f"hello {name}" for name in names)


HANDLER_TOOLS = {f.__name__: Tool(f) for f in (ping, echo, add, error_demo, stream_progress, greetings)}


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

    @tool(description="Echo back provided arguments")
    def echo(self, **kwargs):
        return echo(self.session_context, **kwargs)

    @tool(description="Demonstrate variables", required_variables=["demo"])
    def variable_demo(self, name: str, value=None):
        self.session_context[name] = value
        return {"name": name, "value": self.session_context[name]}
