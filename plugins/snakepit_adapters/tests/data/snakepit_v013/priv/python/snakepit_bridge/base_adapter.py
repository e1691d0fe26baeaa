"""Stand-in for 0.13's base_adapter: the @tool decorator and BaseAdapter, from the API's facts."""

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
        self._session_context = None

    @property
    def session_id(self):
        context = getattr(self, "session_context", None) or self._session_context
        return context.session_id if context else None

    def set_session_context(self, session_context):
        self._session_context = session_context
        self.session_context = session_context

    def get_tools(self):
        if self._tools_cache is None:
            tools = [
                self._create_tool_registration(name, method)
                for name, method in inspect.getmembers(self, inspect.ismethod)
                if hasattr(method, "_tool_metadata")
            ]
            if hasattr(self, "execute_tool") and all(t.name != "execute_tool" for t in tools):
                tools.append(pb2.ToolRegistration(name="execute_tool", description="Legacy tool execution method"))
            self._tools_cache = tools
        return self._tools_cache

    def _create_tool_registration(self, name, method):
        declared = method._tool_metadata
        metadata = {"adapter_class": type(self).__name__, "module": type(self).__module__}
        if declared.required_variables:
            metadata["required_variables"] = ",".join(declared.required_variables)
        parameters = [self._create_parameter_spec(n, p) for n, p in inspect.signature(method).parameters.items()]
        return pb2.ToolRegistration(
            name=name,
            description=declared.description,
            parameters=parameters,
            supports_streaming=declared.supports_streaming,
            metadata=metadata,
        )

    def _create_parameter_spec(self, name, param):
        kind = "any"
        if param.annotation is not inspect.Parameter.empty:
            kind = getattr(param.annotation, "__name__", str(param.annotation)).lower()
        spec = pb2.ParameterSpec(name=name, type=kind, required=param.default is inspect.Parameter.empty)
        if param.default is not inspect.Parameter.empty:
            spec.validation_json = json.dumps({"default": param.default})
        return spec

    def call_tool(self, tool_name, **kwargs):
        if not hasattr(self, tool_name):
            raise AttributeError(f"Tool '{tool_name}' not found in {type(self).__name__}")
        method = getattr(self, tool_name)
        if not callable(method):
            raise TypeError(f"'{tool_name}' is not a callable tool")
        return method(**kwargs)

    def register_with_session(self, session_id, stub):
        tools = self.get_tools()
        if not tools:
            return []
        request = pb2.RegisterToolsRequest(session_id=session_id, tools=tools, worker_id=f"python-{id(self)}")
        try:
            response = stub.RegisterTools(request)
        except Exception:
            return []
        if response.success:
            return list(response.tool_ids)
        if "duplicate_tool" in response.error_message:
            return [t.name for t in tools]
        return []
