"""Reports what execute_tool receives: the arguments Snakepit's server would pass, and the context's session."""

from snakepit_bridge.base_adapter import BaseAdapter, tool


class ArgumentsAdapter(BaseAdapter):
    def set_session_context(self, session_context):
        self.session_context = session_context

    @tool(description="A declared tool that takes binary data")
    def declared(self, data: bytes, label: str = "x"):
        raise AssertionError("execute_tool answers every call")

    def execute_tool(self, tool_name, arguments, context):
        shown = {key: len(value) if isinstance(value, bytes) else value for key, value in arguments.items()}
        return {"tool": tool_name, "arguments": shown, "context_session": context.session_id}
