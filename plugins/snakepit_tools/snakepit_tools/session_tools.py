"""``ctx.tools``: the session's Python and Elixir tools, for handlers and agents.

Every call goes through the host's own call path (``host.execute``), so a
tool called from another tool is validated, converted, timed out and
cancelled exactly as if Elixir had called it.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import keyword
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument, NotFound, Result, SnakepitError
from snakepit_tools.elixir_bridge import ToolBridge, single_type

if TYPE_CHECKING:
    from snakepit_host import SessionContext, Tool

log = logging.getLogger("snakepit_tools")

LANGUAGES = ("python", "elixir")
_ANNOTATIONS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


class SessionTools:
    """What ``ctx.tools`` is: call, list and hand out the session's tools."""

    def __init__(self, ctx: SessionContext, bridge: ToolBridge) -> None:
        self._ctx = ctx
        self._bridge = bridge

    # ------------------------------------------------------------ calling

    def call(self, name: str, /, **kwargs: Any) -> Any:
        """Call a Python or Elixir tool by name; a binary result is returned instead of its summary."""
        self._tool(name)
        ctx = self._ctx
        result = ctx.host.execute(
            name,
            kwargs,
            session_id=ctx.session_id,
            metadata=ctx.metadata,
            deadline=ctx.deadline,
            is_active=lambda: not ctx.cancelled,
        )
        if isinstance(result, Result):
            return result.binary if result.binary is not None else result.value
        return result

    async def acall(self, name: str, /, **kwargs: Any) -> Any:
        """:meth:`call` for ``async def`` tools: runs in a thread so the event loop stays free."""
        return await asyncio.to_thread(self.call, name, **kwargs)

    def stream(self, name: str, /, **kwargs: Any) -> Iterator[Any]:
        """The items of a streaming tool."""
        self._tool(name)
        ctx = self._ctx
        return ctx.host.stream(
            name, kwargs, session_id=ctx.session_id, metadata=ctx.metadata, is_active=lambda: not ctx.cancelled
        )

    # ------------------------------------------------------------ listing

    def list(self, language: str | None = None, tags: Iterable[str] | None = None) -> builtins.list[dict[str, Any]]:
        """Tools as dicts (name, description, parameters, returns, language, streaming, tags, owner).

        ``language`` is ``"python"`` or ``"elixir"``; ``tags`` keeps tools
        carrying every one of them. Elixir's tools are left out (and the
        failure logged) when Elixir cannot be reached, unless
        ``language="elixir"`` was asked for explicitly.
        """
        if language is not None and language not in LANGUAGES:
            raise InvalidArgument(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        wanted = set([tags] if isinstance(tags, str) else tags or ())
        return [
            describe(tool)
            for tool in self._tools(language)
            if (language is None or tool.language == language) and wanted <= set(tool.tags)
        ]

    def elixir(self) -> builtins.list[dict[str, Any]]:
        """The session's Elixir tools."""
        return self.list(language="elixir")

    def describe(self, name: str) -> dict[str, Any]:
        return describe(self._tool(name))

    def callables(self, language: str | None = None) -> builtins.list[Callable[..., Any]]:
        """Plain functions, one per tool, with a real signature and docstring (for agents such as DSPy ReAct)."""
        return [make_callable(self.call, info) for info in self.list(language)]

    # ------------------------------------------------------------ lookup

    def _tools(self, language: str | None) -> builtins.list[Tool]:
        tools: builtins.list[Tool] = []
        if language in (None, "python"):
            tools += sorted(self._ctx.host.registry.tools(), key=lambda t: t.name)
        if language in (None, "elixir"):
            try:
                elixir = self._bridge.elixir_tools(self._ctx.session)
            except SnakepitError as exc:
                if language == "elixir":
                    raise
                log.warning("Elixir tools left out of the listing: %s", exc)
                elixir = {}
            tools += sorted(elixir.values(), key=lambda t: t.name)
        return tools

    def _tool(self, name: str) -> Tool:
        from snakepit_host import Tool

        found = self._ctx.host.registry.commands.get(name)
        if found is None:
            try:
                found = self._bridge.elixir_tools(self._ctx.session).get(name)
            except SnakepitError as exc:
                raise NotFound(
                    f"no Python tool named {name[:100]!r}, and Elixir's tools are unavailable: {exc}"
                ) from None
        if not isinstance(found, Tool):
            kind = "a command, not a tool" if found is not None else "not a known tool"
            raise NotFound(f"{name[:100]!r} is {kind} (see ctx.tools.list())")
        return found


def describe(tool: Tool) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": dict(tool.parameters) if tool.parameters is not None else None,
        "returns": dict(tool.returns) if tool.returns is not None else None,
        "language": tool.language,
        "streaming": tool.streaming,
        "tags": list(tool.tags),
        "owner": tool.owner,
        "timeout": tool.timeout,
    }


def make_callable(call: Callable[..., Any], info: dict[str, Any]) -> Callable[..., Any]:
    """A function that calls ``call(name, **kwargs)``, shaped after the tool's schema.

    Agents read ``__name__``, ``__doc__``, ``inspect.signature`` and the
    annotations; optional parameters the agent leaves out are not sent, so
    the tool's own defaults apply.
    """
    name = info["name"]
    schema = info.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    parameters: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    unset = object()
    for pname, prop in sorted(properties.items(), key=lambda item: item[0] not in required):
        if not pname.isidentifier() or keyword.iskeyword(pname):
            parameters = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
            parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
            break
        annotation = _annotation(prop)
        annotations[pname] = annotation
        default = inspect.Parameter.empty if pname in required else prop.get("default")
        parameters.append(
            inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    signature = inspect.Signature(parameters)
    defaults = {p.name for p in parameters if p.default is not inspect.Parameter.empty}

    def tool_function(**kwargs: Any) -> Any:
        bound = signature.bind(**kwargs)
        arguments = {k: v for k, v in bound.arguments.items() if k != "kwargs"}
        arguments.update(bound.arguments.get("kwargs", {}))
        for pname in defaults:
            if pname in arguments and arguments[pname] is None and properties[pname].get("default", unset) is unset:
                del arguments[pname]
        return call(name, **arguments)

    tool_function.__name__ = name
    tool_function.__qualname__ = name
    tool_function.__doc__ = _docstring(info, properties)
    tool_function.__signature__ = signature  # type: ignore[attr-defined]
    tool_function.__annotations__ = annotations
    return tool_function


def _annotation(prop: dict[str, Any]) -> Any:
    kind = single_type(prop)
    return _ANNOTATIONS.get(str(kind), Any) if kind is not None else Any


def _docstring(info: dict[str, Any], properties: dict[str, Any]) -> str:
    lines = [info.get("description") or info["name"]]
    documented = [(n, p["description"]) for n, p in properties.items() if p.get("description")]
    if documented:
        lines += ["", "Args:"] + [f"    {n}: {text}" for n, text in documented]
    return "\n".join(lines)
