"""Adapters that misbehave, each in one way."""

import time

from snakepit_bridge.base_adapter import BaseAdapter, tool

CLEANED: list = []


class Misbehaving(BaseAdapter):
    def set_session_context(self, context):
        self.session_context = context

    def cleanup(self):
        CLEANED.append(self.session_context.session_id)

    def execute_tool(self, tool_name, arguments, context):
        return getattr(self, tool_name)(**arguments)

    @tool(description="Raise")
    def explode(self, message: str = "kaboom"):
        raise RuntimeError(message)

    @tool(description="A set inside a dict (0.4.1 cannot encode it) and a tuple key (neither can)")
    def unencodable(self, tuple_key: bool = False):
        return {(1, 2): "pair"} if tuple_key else {"tags": {"a"}}

    @tool(description="An int too big for 0.13's float")
    def huge(self):
        return 10**400

    @tool(description="Sleep")
    def hang(self, seconds: float = 5.0):
        time.sleep(seconds)
        return "woke up"

    @tool(description="One good item, then garbage", supports_streaming=True)
    def garbage_stream(self):
        yield {"ok": 1}
        yield object()

    @tool(description="Stream, then raise", supports_streaming=True)
    def broken_stream(self):
        yield {"ok": 1}
        raise ValueError("stream broke")

    @tool(description="Stream, then fail deep in a recursion (a stack trace far over 4 KiB)", supports_streaming=True)
    def deep_failure_stream(self):
        yield {"ok": 1}

        def down(n):
            if n == 0:
                raise RecursionError("gave up at the bottom")
            return down(n - 1)

        down(200)

    @tool(description="A generator called through the unary endpoint", supports_streaming=True)
    def generator(self):
        yield 1


class InitFails(BaseAdapter):
    def __init__(self):
        raise RuntimeError("cannot load model weights")

    def execute_tool(self, tool_name, arguments, context):
        return None


class NotAnAdapter:
    """Has nothing Snakepit would call."""

    def helper(self):
        return 1


class CleanupFails(Misbehaving):
    def cleanup(self):
        raise OSError("cleanup failed")
