"""snakepit-tools: plain Python functions as described, validated tools, and a tool bridge with Elixir.

``from snakepit_tools import tool`` is all a plugin needs to describe its
tools; it registers them with the host's ``register.tool(fn)`` in its
``register_tools`` hook. Handlers reach every tool of their session through
``ctx.tools`` (:class:`~snakepit_tools.session_tools.SessionTools`); other plugins
type it with the :class:`Tools` protocol (``tools: Tools = ctx.tools``).
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
