"""``prepare_tool``: give every registered tool its schemas and a validating invoker.

The host calls this once per tool at start-up, for tools of any plugin,
decorated with ``@tool`` or not. An explicit ``parameters=`` schema wins over
the derived one (the signature is then still used for conversions and to
catch names the function cannot take). A hint with no JSON form is a
RegistrationError naming the tool and the parameter, which withdraws the
plugin that registered it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host import LazyTarget, RegistrationError, Tool, declared_tool_options
from snakepit_tools.docstrings import parameter_docs
from snakepit_tools.executor import ToolExecutor
from snakepit_tools.schema import plan_signature, returns_schema

if TYPE_CHECKING:
    from snakepit_host import SessionContext


def prepare(tool: Tool) -> Tool | None:
    if tool.language != "python" or tool.invoker is not None:
        return None  # proxies and tools that bring their own invoker are left alone
    if tool.parameters is not None:
        check_explicit_schema(tool.name, tool.parameters)
    if isinstance(tool.target, LazyTarget):
        return dataclasses.replace(tool, invoker=LazyExecutor(tool))
    executor, parameters, returns = build(tool, tool.target)
    return dataclasses.replace(tool, parameters=parameters, returns=returns, invoker=executor)


def build(tool: Tool, function: Callable[..., Any]) -> tuple[ToolExecutor, dict[str, Any], Mapping[str, Any] | None]:
    explicit = tool.parameters is not None
    plan = plan_signature(function, tool.name, lenient=explicit)
    declared = declared_tool_options(function).get("parameter_descriptions") or {}
    known = {p.name for p in plan.parameters}
    unknown = sorted(set(declared) - known)
    if unknown and plan.extra is None:
        raise RegistrationError(
            f"tool '{tool.name}': parameter_descriptions name parameter(s) it does not have: {', '.join(unknown)}"
        )
    descriptions = {**parameter_docs(function), **declared}
    parameters = dict(tool.parameters) if tool.parameters is not None else plan.schema(descriptions)
    returns = tool.returns if tool.returns is not None else returns_schema(function, tool.name, tool.streaming)
    executor = ToolExecutor(tool.name, function, plan, parameters, explicit_schema=explicit, timeout=tool.timeout)
    return executor, parameters, returns


def check_explicit_schema(name: str, schema: Any) -> None:
    """The cheap structural checks; the full meta-schema check runs with the first validation."""
    problem = None
    if not isinstance(schema, Mapping):
        problem = f"must be a JSON-schema object, not {type(schema).__name__}"
    elif schema.get("type", "object") != "object":
        problem = f'must describe an object ("type": "object"), not {schema.get("type")!r}'
    elif not isinstance(schema.get("properties", {}), Mapping):
        problem = "'properties' must be an object"
    elif not all(isinstance(item, str) for item in schema.get("required", [])):
        problem = "'required' must be a list of names"
    if problem:
        raise RegistrationError(f"tool '{name}': parameters schema {problem}")


class LazyExecutor:
    """Invoker of a tool registered as ``"module:attr"``: its module is imported on the first call.

    Until then only an explicit schema is known; the derived one is used
    for validation once the function is loaded.
    """

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self._executor: ToolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = build(self.tool, self.tool.handler())[0]
                executor = self._executor
        return executor(ctx, params)
