"""Imports a module that is not installed, as an adapter with a missing requirement does."""

import definitely_not_installed_module  # noqa: F401


class NeedsIt:
    def execute_tool(self, tool_name, arguments, context):
        return None
