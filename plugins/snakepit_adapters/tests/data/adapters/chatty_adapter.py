"""Writes to stdout at import, in __init__ and in a tool (Snakepit 0.4 reads stdout for its readiness line)."""

import os
import sys

print("chatty adapter: imported")
os.write(1, b"chatty adapter: raw write to fd 1\n")


class Chatty:
    def __init__(self):
        print("chatty adapter: instantiated", end="")
        sys.stdout.flush()

    def set_session_context(self, context):
        self.context = context

    def execute_tool(self, tool_name, arguments, context):
        print("chatty adapter: in a tool")
        os.write(1, b"chatty adapter: raw write in a tool\n")
        return "said"
