"""Shaped like DSPex's DSPyGRPCHandler: @tool methods, a dispatch table, call_tool for the rest."""

from snakepit_bridge import SessionContext  # noqa: F401
from snakepit_bridge.base_adapter import BaseAdapter, tool

_MODULE_STORAGE: dict = {}


class DSPyGRPCHandler(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.session_context = None

    def set_session_context(self, context):
        self.session_context = context

    @tool(description="Check whether DSPy is available")
    def check_dspy(self):
        return {"available": False, "error": "DSPy is not installed in this test"}

    @tool(description="Configure the language model")
    def configure_lm(self, model_type: str, **kwargs):
        _MODULE_STORAGE["default_lm"] = {"model_type": model_type, **kwargs}
        return {"success": True, "model_type": model_type, "options": sorted(kwargs)}

    @tool(description="Store an object")
    def store_object(self, name: str, value):
        _MODULE_STORAGE[name] = value
        return {"success": True, "name": name}

    @tool(description="List stored objects")
    def list_stored_objects(self):
        return {"success": True, "objects": [{"name": name} for name in sorted(_MODULE_STORAGE)]}

    @tool(description="Predict with Elixir's help when available")
    def enhanced_predict(self, signature: str, **inputs):
        reasoning = None
        if hasattr(self.session_context, "call_elixir_tool"):
            reasoning = self.session_context.call_elixir_tool("validate_reasoning", text=str(inputs))
        return {"success": True, "signature": signature, "inputs": inputs, "reasoning": reasoning}

    def execute_tool(self, tool_name, arguments, context):
        self.session_context = context
        table = {
            "check_dspy": lambda: self.check_dspy(),
            "list_stored_objects": lambda: self.list_stored_objects(),
            "configure_lm": lambda: self.configure_lm(**arguments),
            "store_object": lambda: self.store_object(**arguments),
        }
        if tool_name in table:
            return table[tool_name]()
        try:
            return self.call_tool(tool_name, **arguments)
        except AttributeError:
            raise ValueError(f"Unknown tool: {tool_name}") from None
