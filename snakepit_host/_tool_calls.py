"""Tools as the host calls them: schema from the signature, values converted as the hints ask, streams guarded.

The host prepares every tool itself, whichever plugin registered it and
whether or not snakepit-tools is installed (:func:`prepare`, once per tool at
start-up): the parameter schema is derived from the signature, the type
hints and the docstring (:mod:`snakepit_host._hint_schema`,
:mod:`snakepit_host._docstrings`), or an explicit ``parameters=`` schema is
completed with what the signature requires. A hint with no JSON form is a
RegistrationError naming the tool and the parameter, so the plugin that
registered it is shown as failed at start-up. A lazy (``"module:attr"``)
tool is prepared on its first call instead, when its module is imported.

:class:`ToolCall` is the invoker that results. The host validates the
parameters against the schema before it runs (one validator for every
command, :mod:`snakepit_host._parameters`), then the invoker converts what
the hints ask for (a float for ``float``, an Enum member, a dataclass, a
numpy array...), passes ``ctx`` to a parameter of that name, calls the
function with keyword arguments, and stops generators when the client
leaves or an item takes longer than the timeout allows. The host's dispatch
already applies timeouts to plain and ``async`` tools.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host._docstrings import parameter_docs
from snakepit_host._errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, RegistrationError
from snakepit_host._hint_schema import SignaturePlan, plan_signature, returns_schema
from snakepit_host._parameters import summary
from snakepit_host._registry import LazyTarget, declared_tool_options

if TYPE_CHECKING:
    from typing import Protocol

    from snakepit_host._host_config import HostConfig
    from snakepit_host._registry import Tool

    # Protocols exist for the type checker only (defining them costs every worker's start-up).
    class _HasConfig(Protocol):
        @property
        def config(self) -> HostConfig: ...

    class CallContext(Protocol):
        """What a tool call reads of its :class:`~snakepit_host._context.SessionContext`.

        The context module sits above this one (the registry reaches this module,
        and the context reaches the registry through the host), so the call is
        typed by the few attributes it uses rather than by the class.
        """

        @property
        def binary(self) -> Mapping[str, Any]: ...

        @property
        def cancelled(self) -> bool: ...

        @property
        def host(self) -> _HasConfig: ...


CANCEL_POLL_SECONDS = 0.1


def prepare(tool: Tool) -> Tool:
    """``tool`` with the schema the host enforces and the host's invoker.

    A lazy (``"module:attr"``) tool gets a :class:`LazyToolCall`, which
    imports its module and derives the schema on the first call. Tools in
    another language (Elixir proxies) and tools that bring their own invoker
    are left as they are.
    """
    if tool.language != "python" or tool.invoker is not None:
        return tool
    if isinstance(tool.target, LazyTarget):
        return dataclasses.replace(tool, invoker=LazyToolCall(tool))
    call = ToolCall.build(tool, tool.target)
    return dataclasses.replace(tool, parameters=call.schema, returns=call.returns, invoker=call)


class LazyToolCall:
    """The invoker of a lazy tool: its module is imported, and its call built, on first use.

    Until then only an explicit schema is known. A hint with no JSON form is
    found only then, and is the tool's fault, not the caller's:
    FailedPrecondition.
    """

    derives_schema = True
    """Tells the registry's validator to ask :attr:`schema` (on the first call) instead of the tool's parameters."""

    def __init__(self, tool: Tool) -> None:
        self._tool = tool
        self._call: ToolCall | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> ToolCall:
        if self._call is None:
            with self._lock:
                if self._call is None:
                    function = self._tool.handler()
                    try:
                        self._call = ToolCall.build(self._tool, function)
                    except RegistrationError as exc:
                        raise FailedPrecondition(f"{exc} (found when it was first called)") from None
        return self._call

    @property
    def schema(self) -> dict[str, Any]:
        """The schema the host enforces, known once the module is imported."""
        return self.built.schema

    def __call__(self, ctx: CallContext, params: dict[str, Any]) -> Any:
        return self.built(ctx, params)


class ToolCall:
    """Conversion and calling for one tool; ``__call__`` is its invoker."""

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        plan: SignaturePlan,
        schema: dict[str, Any],
        returns: Mapping[str, Any] | None,
        timeout: float | None,
    ) -> None:
        self.name = name
        self.function = function
        self.schema = schema
        """The parameters schema the host enforces (explicit and completed, or derived)."""
        self.returns = returns
        self.timeout = timeout
        self.converters = {p.name: p.shape.convert for p in plan.parameters if p.shape.convert is not None}
        self.binary = {p.name: p.shape.binary for p in plan.parameters if p.shape.binary is not None}
        self.properties = frozenset(p.name for p in plan.parameters)
        self._extra_convert = plan.extra.convert if plan.extra is not None else None
        self._wants_ctx = plan.wants_ctx

    @classmethod
    def build(cls, tool: Tool, function: Callable[..., Any]) -> ToolCall:
        explicit = tool.parameters is not None
        plan = plan_signature(function, tool.name, lenient=explicit)
        declared = declared_tool_options(function).get("parameter_descriptions") or {}
        unknown = sorted(set(declared) - {p.name for p in plan.parameters})
        if unknown and plan.extra is None:
            raise RegistrationError(
                f"tool '{tool.name}': parameter_descriptions name parameter(s) it does not have: {', '.join(unknown)}"
            )
        if tool.parameters is not None:
            schema = completed_schema(tool.name, tool.parameters, plan)
        else:
            schema = plan.schema({**parameter_docs(function), **declared})
        returns = tool.returns if tool.returns is not None else returns_schema(function, tool.name, tool.streaming)
        return cls(tool.name, function, plan, schema, returns, tool.timeout)

    def __call__(self, ctx: CallContext, params: dict[str, Any]) -> Any:
        binary = ctx.binary
        if self.converters or self._extra_convert or binary:
            params = self._convert(params, binary)
        result = self.function(ctx=ctx, **params) if self._wants_ctx else self.function(**params)
        if inspect.isgenerator(result):
            return _guard_generator(result, ctx, self.name, self._item_timeout(ctx))
        if inspect.isasyncgen(result):
            return _guard_async_generator(result, ctx)
        return result

    def _item_timeout(self, ctx: CallContext) -> float | None:
        """The tool's timeout or the host's, whichever is shorter (as the host applies to async items)."""
        default = ctx.host.config.call_timeout
        if self.timeout is None or default is None:
            return self.timeout if default is None else default
        return min(self.timeout, default)

    def _convert(self, params: dict[str, Any], binary: Mapping[str, Any]) -> dict[str, Any]:
        converted = dict(params)
        problems: list[str] = []
        for name, value in params.items():
            if value is None:
                continue
            if name in binary:
                converter = self.binary.get(name)
            else:
                converter = self.converters.get(name) if name in self.properties else self._extra_convert
            if converter is None:
                continue
            try:
                converted[name] = converter(value)
            except Exception as exc:
                problems.append(f"parameter '{name}': {_one_line(exc)}")
        if problems:
            raise InvalidArgument(summary(f"tool '{self.name}'", problems))
        return converted


def completed_schema(name: str, schema: Mapping[str, Any], plan: SignaturePlan) -> dict[str, Any]:
    """An explicit schema, made true to the function: what it requires is required, what it cannot take is refused.

    A schema that names a parameter the function does not take, or leaves
    out one it requires, is a RegistrationError (the calls would fail with a
    TypeError); without ``**kwargs`` no other names are accepted.
    """
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    takes = {p.name for p in plan.parameters}
    problems = []
    if plan.extra is None:
        problems += [f"names parameter '{n}' the function does not take" for n in properties if n not in takes]
    problems += [
        f"does not require parameter '{p.name}', which the function requires"
        for p in plan.parameters
        if p.required and p.name not in required
    ]
    if problems:
        raise RegistrationError(f"tool '{name}': its parameters schema " + "; ".join(problems))
    if plan.extra is None and schema.get("additionalProperties", True) is not False:
        return {**schema, "additionalProperties": False}
    return dict(schema)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return text or type(exc).__name__


# ---------------------------------------------------------------- streaming guards


def _guard_generator(generator: Iterator[Any], ctx: CallContext, name: str, timeout: float | None) -> Iterator[Any]:
    """Stop pulling when the client has gone; report an item that took longer than the timeout.

    A thread cannot be interrupted, so an item that overruns is reported
    when it arrives (the stream ends with an error chunk) and the generator
    is closed; ``ctx.cancelled`` lets a long item give up early.
    """
    try:
        while not ctx.cancelled:
            started = time.monotonic()
            try:
                item = next(generator)
            except StopIteration:
                return
            if timeout is not None and time.monotonic() - started > timeout:
                raise DeadlineExceeded(f"{name} took longer than {timeout:g} s to produce an item")
            yield item
    finally:
        close = getattr(generator, "close", None)
        if close is not None:
            close()


async def _guard_async_generator(generator: AsyncIterator[Any], ctx: CallContext) -> AsyncIterator[Any]:
    """Cancel the pending item as soon as the client goes away (the host's loop waits per item)."""
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(generator.__anext__())
            while not pending.done():
                await asyncio.wait((pending,), timeout=CANCEL_POLL_SECONDS)
                if not pending.done() and ctx.cancelled:
                    return
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        aclose = getattr(generator, "aclose", None)
        if aclose is not None:
            await aclose()
