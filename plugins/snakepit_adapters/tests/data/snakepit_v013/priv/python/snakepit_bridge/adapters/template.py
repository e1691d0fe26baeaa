class TemplateAdapter:
    def __init__(self):
        self.session_context = None
        self.initialized = False

    def set_session_context(self, context):
        self.session_context = context

    async def initialize(self):
        self.initialized = True

    async def cleanup(self):
        self.initialized = False

    def execute_tool(self, tool_name, arguments, context):
        raise NotImplementedError(f"Tool {tool_name} not implemented")
