"""Shaped like SnakeBridge's SnakeBridgeAdapter: a plain class, namespaced tool names, callbacks through the stub."""

import json
import math
import statistics

import snakepit_bridge_pb2
from snakepit_bridge.serialization import TypeSerializer

try:
    from snakepit_bridge import telemetry
except Exception:
    telemetry = None

LIBRARIES = {"math": math, "statistics": statistics}  # SnakeBridge imports by name; this test double does not


class SnakeBridgeAdapter:
    def __init__(self):
        self.session_context = None

    def set_session_context(self, context):
        self.session_context = context

    def execute_tool(self, tool_name, arguments, context):
        session_id = arguments.get("session_id") or context.session_id or "default"
        if tool_name == "snakebridge.call":
            return self._call(arguments, context, session_id)
        if tool_name == "snakebridge.stream":
            return ({"item": value, "session_id": session_id} for value in arguments.get("items", []))
        if tool_name == "snakebridge.callback":
            request = snakepit_bridge_pb2.ExecuteElixirToolRequest(session_id=context.session_id, tool_name="double")
            request.parameters["x"].type_url = "type.googleapis.com/google.protobuf.StringValue"
            request.parameters["x"].value = json.dumps(arguments["x"]).encode()
            response = context.stub.ExecuteElixirTool(request)
            return {"callback": TypeSerializer.decode_any(response.result), "success": response.success}
        raise AttributeError(f"Tool '{tool_name}' not supported by SnakeBridgeAdapter")

    def _call(self, arguments, context, session_id):
        function = getattr(LIBRARIES[arguments["library"]], arguments["function"])
        if arguments.get("call_type") == "dynamic_stream":
            return (function(value) for value in arguments.get("args", []))
        return {
            "result": function(*arguments.get("args", [])),
            "session_id": session_id,
            "telemetry": telemetry is not None,
        }
