"""``@tool``: declare how a function is offered as a tool, without registering it.

Registration stays with the host: a plugin calls ``register.tool(fn)`` in its
``register_tools`` hook. ``@tool`` only records options on the function (in
``__snakepit_tool__``), which the host's registrar takes as defaults and the
host's tool preparation reads for parameter descriptions. A decorated
function therefore stays a plain function: callable, testable, and
importable without any of this plugin's machinery.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from snakepit_host import TOOL_OPTIONS_ATTRIBUTE, RegistrationError, check_name, declared_tool_options

F = TypeVar("F", bound=Callable[..., Any])


@overload
def tool(
    function: F,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    timeout: float | None = None,
    streaming: bool | None = None,
    parameters: Mapping[str, Any] | None = None,
    returns: Mapping[str, Any] | None = None,
    parameter_descriptions: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> F: ...


@overload
def tool(
    function: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    timeout: float | None = None,
    streaming: bool | None = None,
    parameters: Mapping[str, Any] | None = None,
    returns: Mapping[str, Any] | None = None,
    parameter_descriptions: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Callable[[F], F]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
    timeout: float | None = None,
    streaming: bool | None = None,
    parameters: Mapping[str, Any] | None = None,
    returns: Mapping[str, Any] | None = None,
    parameter_descriptions: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Any:
    """Describe a function as a tool; use as ``@tool``, ``@tool(...)`` or ``tool(fn, ...)``.

    :param name: tool name (default: the function's ``__name__``).
    :param description: shown to callers and agents (default: the docstring's first paragraph).
    :param tags: free-form labels; ``list_tools`` filters on them.
    :param timeout: seconds a call may take (the host's ``--call-timeout`` applies when shorter).
    :param streaming: force streaming on or off (default: whether it is a generator function).
    :param parameters: a JSON schema that replaces the one derived from the signature.
    :param returns: a JSON schema that replaces the one derived from the return annotation.
    :param parameter_descriptions: ``{parameter: text}``; docstring ``:param x:`` / ``Args:`` entries are used too.
    :param metadata: string pairs announced to Elixir with the tool.

    The non-decorator form is for functions you do not own: when the
    function cannot carry attributes (a builtin, a bound method) a thin
    wrapper is returned instead, so register what ``tool(...)`` returns.
    """
    options: dict[str, Any] = {
        "name": check_name("tool", name) if name is not None else None,
        "description": description,
        "tags": _check_tags(tags),
        "timeout": _check_timeout(timeout),
        "streaming": streaming,
        "parameters": dict(parameters) if parameters is not None else None,
        "returns": dict(returns) if returns is not None else None,
        "parameter_descriptions": dict(parameter_descriptions) if parameter_descriptions else None,
        "metadata": {str(k): str(v) for k, v in metadata.items()} if metadata else None,
    }
    declared = {key: value for key, value in options.items() if value is not None and value != ()}

    def attach(target: F) -> F:
        if not callable(target):
            raise RegistrationError(f"@tool needs a callable, got {target!r}")
        merged = {**declared_tool_options(target), **declared}
        try:
            setattr(target, TOOL_OPTIONS_ATTRIBUTE, merged)
        except (AttributeError, TypeError):
            return _wrapped(target, merged)  # type: ignore[return-value]
        return target

    return attach(function) if function is not None else attach


def _wrapped(function: Callable[..., Any], options: dict[str, Any]) -> Callable[..., Any]:
    """A plain function standing in for one that cannot carry attributes."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    if "streaming" not in options and (inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)):
        options = {**options, "streaming": True}
    setattr(wrapper, TOOL_OPTIONS_ATTRIBUTE, options)
    return wrapper


def _check_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(tags, str) or not all(isinstance(tag, str) and tag for tag in tags):
        raise RegistrationError(f"tags must be a list of non-empty strings, got {tags!r}")
    return tuple(tags)


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise RegistrationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def tool_options(function: object) -> Mapping[str, Any]:
    """What ``@tool`` recorded on ``function`` (empty when it was not decorated)."""
    return declared_tool_options(function)
