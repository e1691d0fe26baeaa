"""0.4.1's default adapter: a session context and lifecycle, no execute_tool and no tools."""


class EnhancedBridge:
    def __init__(self):
        self.session_context = None
        self.initialized = False

    def set_session_context(self, context):
        self.session_context = context

    async def initialize(self):
        self.initialized = True

    async def cleanup(self):
        self.initialized = False

    def get_info(self):
        return {"adapter": "EnhancedBridge", "version": "0.1.0", "stage": 0, "initialized": self.initialized}
