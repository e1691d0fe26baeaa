"""Stand-in for 0.4.1's base_adapter: like 0.13's, without set_session_context (each adapter defines its own)."""

import inspect
import json
from dataclasses import dataclass, field

import snakepit_bridge_pb2 as pb2


@dataclass
class ToolMetadata:
    description: str = ""
    supports_streaming: bool = False
    parameters: list = field(default_factory=list)
    required_variables: list = field(default_factory=list)


def tool(description="", supports_streaming=False, required_variables=None):
    def decorator(func):
        func._tool_metadata = ToolMetadata(
            description or func.__doc__ or "", supports_streaming, [], required_variables or []
        )
        return func

    return decorator


class BaseAdapter:
    def __init__(self):
        self._tools_cache = None

    def get_tools(self):
        if self._tools_cache is None:
            tools = []
            for name, method in inspect.getmembers(self, inspect.ismethod):
                if not hasattr(method, "_tool_metadata"):
                    continue
                declared = method._tool_metadata
                metadata = {"adapter_class": type(self).__name__, "module": type(self).__module__}
                if declared.required_variables:
                    metadata["required_variables"] = ",".join(declared.required_variables)
                parameters = [_parameter(n, p) for n, p in inspect.signature(method).parameters.items()]
                tools.append(
                    pb2.ToolRegistration(
                        name=name,
                        description=declared.description,
                        parameters=parameters,
                        supports_streaming=declared.supports_streaming,
                        metadata=metadata,
                    )
                )
            if hasattr(self, "execute_tool") and all(t.name != "execute_tool" for t in tools):
                tools.append(pb2.ToolRegistration(name="execute_tool", description="Legacy tool execution method"))
            self._tools_cache = tools
        return self._tools_cache

    def call_tool(self, tool_name, **kwargs):
        if not hasattr(self, tool_name):
            raise AttributeError(f"Tool '{tool_name}' not found in {type(self).__name__}")
        method = getattr(self, tool_name)
        if not callable(method):
            raise TypeError(f"'{tool_name}' is not a callable tool")
        return method(**kwargs)

    def register_with_session(self, session_id, stub):
        tools = self.get_tools()
        request = pb2.RegisterToolsRequest(session_id=session_id, tools=tools, worker_id=f"python-{id(self)}")
        try:
            response = stub.RegisterTools(request)
        except Exception:
            return []
        return list(response.tool_ids) if response.success else []


def _parameter(name, param):
    kind = "any" if param.annotation is inspect.Parameter.empty else param.annotation.__name__.lower()
    spec = pb2.ParameterSpec(name=name, type=kind, required=param.default is inspect.Parameter.empty)
    if param.default is not inspect.Parameter.empty:
        spec.validation_json = json.dumps({"default": param.default})
    return spec
