"""snakepit-tools: plain Python functions as described, validated tools, and a tool bridge with Elixir.

``from snakepit_tools import tool`` is all a plugin needs to describe its
tools; it registers them with the host's ``register.tool(fn)`` in its
``register_tools`` hook. Handlers reach every tool of their session through
``ctx.tools`` (:class:`~snakepit_tools.session_tools.SessionTools`); other plugins
type it with the :class:`Tools` protocol (``tools: Tools = ctx.tools``).
"""

from __future__ import annotations

from snakepit_tools.decorator import tool, tool_options
from snakepit_tools.protocol import Tools

__version__ = "0.1.0"
__all__ = ["Tools", "__version__", "tool", "tool_options"]
