"""snakepit-tools: ``@tool``, ``ctx.tools``, tool listings, and a tool bridge with Elixir.

``from snakepit_tools import tool`` declares how a function is offered as a
tool (name, tags, timeout, parameter descriptions); a plugin registers it
with the host's ``register.tool(fn)`` in its ``register_tools`` hook. The
host itself derives every tool's schema and validates its calls, with or
without this plugin. Handlers reach every tool of their session, Python's
and Elixir's, through ``ctx.tools`` (:class:`~snakepit_tools.session_tools.SessionTools`).
"""

from __future__ import annotations

from snakepit_tools.decorator import tool, tool_options

__version__ = "0.1.0"
__all__ = ["__version__", "tool", "tool_options"]
