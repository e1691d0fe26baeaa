"""snakepit-tools: ``@tool``, ``ctx.tools``, tool listings, and a tool bridge with Elixir.

``from snakepit_tools import tool`` declares how a function is offered as a
tool (name, tags, timeout, parameter descriptions); a plugin registers it
with the host's ``register.tool(fn)`` in its ``register_tools`` hook. The
host itself derives every tool's schema and validates its calls, with or
without this plugin. Handlers reach every tool of their session, Python's
and Elixir's, through ``ctx.tools``
(:class:`~snakepit_tools.session_tools.SessionTools`); other plugins type it
with the :class:`Tools` protocol (``tools: Tools = ctx.tools``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_tools.decorator import tool, tool_options

if TYPE_CHECKING:
    from snakepit_tools.protocol import Tools

__version__ = "0.1.0"
__all__ = ["Tools", "__version__", "tool", "tool_options"]


def __getattr__(name: str) -> Any:
    # The protocol is for type checkers; importing it costs a worker's start-up nothing.
    if name == "Tools":
        from snakepit_tools.protocol import Tools

        return Tools
    raise AttributeError(f"module 'snakepit_tools' has no attribute {name!r}")
