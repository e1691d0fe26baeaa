"""The session's tools as DSPy ReAct tools.

Tools come from snakepit-tools' public face, ``ctx.tools.callables()``:
plain functions with a name, a docstring and a real signature, Python tools
and Elixir tools (as proxies) alike. Each becomes a ``dspy.Tool`` whose
call reports a failure as a one-line observation (``tool 'x' failed: ...``)
and records it, instead of DSPy's default of pasting a Python traceback
into the agent's trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakepit_dspy.dspy_import import dspy
from snakepit_host import FailedPrecondition, NotFound, describe_exception

if TYPE_CHECKING:
    from snakepit_tools import Tools

    from snakepit_host import SessionContext


def session_tools(ctx: SessionContext, names: list[Any] | None) -> tuple[list[dspy.Tool], list[dict[str, str]]]:
    """The chosen tools (all when ``names`` is None) and the list their failures are recorded in."""
    try:
        tools: Tools = ctx.tools
    except AttributeError as exc:
        raise FailedPrecondition(f"react needs snakepit-tools for the session's tools: {exc}") from None
    available: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in tools.callables()}
    if names is None:
        chosen = list(available.values())
    else:
        unknown = [str(name) for name in names if name not in available]
        if unknown:
            raise NotFound(
                f"react: unknown tool(s) {', '.join(map(repr, unknown))}; "
                f"this session has {', '.join(sorted(available)) or 'no tools'}"
            )
        chosen = [available[name] for name in names]
    if not chosen:
        raise FailedPrecondition(
            "react: this session has no tools; register Python tools (snakepit-tools) or expose Elixir tools"
        )
    failures: list[dict[str, str]] = []
    return [_reporting_tool(fn, failures) for fn in chosen], failures


def _reporting_tool(function: Callable[..., Any], failures: list[dict[str, str]]) -> dspy.Tool:
    tool = dspy.Tool(function)
    name = function.__name__

    def call(**kwargs: Any) -> Any:
        try:
            return function(**kwargs)
        except Exception as exc:  # the agent sees the failure as an observation and may recover
            message = f"tool '{name}' failed: {describe_exception(exc)}"
            failures.append({"tool": name, "error": message})
            return message

    tool.func = call
    return tool
