"""Commands for callers that drive tools through the host: list, describe, call Elixir's.

The host checks every call against the schemas below before a handler runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host import SessionContext

DEFAULT_ELIXIR_TIMEOUT = 60.0
"""Seconds an Elixir tool call may take when its caller set no deadline (``--tools-elixir-timeout``)."""

LIST_TOOLS_SCHEMA = {
    "type": "object",
    "properties": {
        "language": {"type": "string", "enum": ["python", "elixir"], "description": "Only tools in this language"},
        "tags": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "Only tools carrying every one of these tags",
        },
    },
    "additionalProperties": False,
}
DESCRIBE_TOOL_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "description": "Tool name"}},
    "required": ["name"],
    "additionalProperties": False,
}
CALL_ELIXIR_TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "tool_name": {"type": "string", "minLength": 1, "description": "Name of a tool Elixir exposes to Python"},
        "parameters": {"type": ["object", "null"], "description": "The tool's parameters (JSON; null: none)"},
    },
    "required": ["tool_name"],
    "additionalProperties": False,
}


def list_tools(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Tools with their schemas, optionally filtered by language and tags."""
    return {"tools": ctx.tools.list(language=params.get("language"), tags=params.get("tags"))}


def describe_tool(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """One tool: description, parameter and result schemas, language, streaming, tags."""
    return ctx.tools.describe(params["name"])  # type: ignore[no-any-return]


def call_elixir_tool(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """Call a tool Elixir exposes (ExecuteElixirTool), listed or not; Elixir's error text comes back unchanged."""
    arguments = params.get("parameters") or {}
    from snakepit_tools.elixir_bridge import bridge_for

    return bridge_for(ctx.host).call_elixir(ctx.session_id, params["tool_name"], arguments, ctx.time_remaining())
