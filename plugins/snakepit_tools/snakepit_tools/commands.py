"""Commands for callers that drive tools through the host: list, describe, call Elixir's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument
from snakepit_tools.elixir_bridge import bridge_for

if TYPE_CHECKING:
    from snakepit_host import SessionContext

LIST_TOOLS_SCHEMA = {
    "type": "object",
    "properties": {
        "language": {"enum": ["python", "elixir"], "description": "Only tools written in this language"},
        "tags": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "Only tools carrying every one of these tags",
        },
    },
    "additionalProperties": False,
}
DESCRIBE_TOOL_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "description": "Tool name"}},
    "required": ["name"],
    "additionalProperties": False,
}
CALL_ELIXIR_TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "tool_name": {"type": "string", "description": "Name of a tool Elixir exposes to Python"},
        "parameters": {"type": "object", "description": "The tool's parameters (JSON)"},
    },
    "required": ["tool_name"],
    "additionalProperties": False,
}


def list_tools(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Tools with their schemas, optionally filtered by language and tags."""
    _check(params, {"language", "tags"}, "list_tools")
    return {"tools": ctx.tools.list(language=params.get("language"), tags=params.get("tags"))}


def describe_tool(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """One tool: description, parameter and result schemas, language, streaming, tags."""
    _check(params, {"name"}, "describe_tool", required=("name",))
    return ctx.tools.describe(params["name"])  # type: ignore[no-any-return]


def call_elixir_tool(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """Call a tool Elixir exposes (ExecuteElixirTool), listed or not; Elixir's error text comes back unchanged."""
    _check(params, {"tool_name", "parameters"}, "call_elixir_tool", required=("tool_name",))
    arguments = params.get("parameters") or {}
    if not isinstance(arguments, dict):
        raise InvalidArgument(f"call_elixir_tool: 'parameters' must be an object, got {type(arguments).__name__}")
    return bridge_for(ctx.host).call_elixir(ctx.session_id, params["tool_name"], arguments, ctx.time_remaining())


def _check(params: dict[str, Any], allowed: set[str], command: str, required: tuple[str, ...] = ()) -> None:
    problems = [f"missing required parameter '{name}'" for name in required if name not in params]
    # session_id is Snakepit's routing parameter (execute_in_session adds it), not ours to refuse.
    problems += [f"unknown parameter '{name}'" for name in params if name not in allowed and name != "session_id"]
    for name in ("name", "tool_name", "language"):
        if name in params and not isinstance(params[name], str):
            problems.append(f"parameter '{name}' must be a string")
    tags = params.get("tags")
    if (
        tags is not None
        and not isinstance(tags, str)
        and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags))
    ):
        problems.append("parameter 'tags' must be a string or a list of strings")
    if problems:
        raise InvalidArgument(f"{command}: " + "; ".join(problems))
