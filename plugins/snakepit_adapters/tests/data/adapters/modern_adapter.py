"""Adapters in Snakepit 0.13's style with @tool methods and no execute_tool (the host calls the methods)."""

import asyncio
import threading
import time

from snakepit_bridge.base_adapter import BaseAdapter, tool

EVENTS: list = []


class ModernAdapter(BaseAdapter):
    def __init__(self):
        super().__init__()
        EVENTS.append("init")

    def set_session_context(self, session_context):
        super().set_session_context(session_context)
        EVENTS.append("context")

    async def initialize(self):
        await asyncio.sleep(0)
        EVENTS.append("initialize")

    def cleanup(self):
        EVENTS.append("cleanup")

    @tool(description="Add two numbers")
    def add(self, a: float, b: float = 1.0) -> float:
        return a + b

    @tool(description="Greet", required_variables=["greeting"])
    def greet(self, name: str, punctuation: str = "!", **extra):
        return {"text": f"hello {name}{punctuation}", "extra": extra, "session": self.session_id}

    @tool()
    async def square_later(self, x: int):
        """Square a number after yielding to the loop."""
        await asyncio.sleep(0.01)
        return x * x

    @tool(description="Count down", supports_streaming=True)
    async def countdown(self, start: int):
        for n in range(start, 0, -1):
            await asyncio.sleep(0)
            yield {"n": n}

    @tool(description="Chunks with their own flags", supports_streaming=True)
    def flagged(self, count: int):
        for index in range(count):
            yield Flagged({"index": index}, final=index == count - 1, metadata={"index": index})

    @tool(description="Elixir through the 0.13 context")
    def ask_elixir(self, x: int):
        return {
            "double": self.session_context.call_elixir_tool("double", x=x),
            "meta": self.session_context.request_metadata,
        }

    @tool(description="Fail")
    def fail(self):
        raise KeyError("analyze_text")

    @tool(description="Sleep, recording the thread")
    def nap(self, seconds: float):
        start = time.monotonic()
        time.sleep(seconds)
        return {"thread": threading.current_thread().name, "start": start, "end": time.monotonic()}


class ThreadSafeModern(ModernAdapter):
    __thread_safe__ = True


class Flagged:
    def __init__(self, data, final, metadata):
        self.data, self.is_final, self.metadata = data, final, metadata
