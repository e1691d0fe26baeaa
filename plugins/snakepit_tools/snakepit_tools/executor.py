"""The invoker installed on every tool: validate, convert, call, guard streams.

The host runs the invoker as ``invoker(ctx, params)`` inside its own
dispatch, which already applies the tool's timeout to plain and ``async``
tools and cancels ``async`` work when the client goes away. What is left
here is what only a tool plugin knows: the schema, the conversions the
hints ask for, the ``ctx`` parameter, and stopping generators when the
client leaves or an item takes longer than the timeout allows.

Per-call cost matters (Snakepit sends every call through here), so the
common path is one validator check, a dict copy only when some parameter
needs converting, and the call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host import DeadlineExceeded, InvalidArgument
from snakepit_tools.schema import SignaturePlan
from snakepit_tools.validation import ParameterValidator

if TYPE_CHECKING:
    from snakepit_host import SessionContext

CANCEL_POLL_SECONDS = 0.1


class ToolExecutor:
    """Validation, conversion and calling for one tool; ``__call__`` is its invoker."""

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        plan: SignaturePlan,
        schema: Mapping[str, Any],
        *,
        explicit_schema: bool,
        timeout: float | None,
    ) -> None:
        self.name = name
        self.function = function
        self.plan = plan
        self.timeout = timeout
        self.validator = ParameterValidator(name, schema, check_schema=explicit_schema)
        self.converters = {p.name: p.shape.convert for p in plan.parameters if p.shape.convert is not None}
        if plan.extra is not None and plan.extra.convert is not None:
            self._extra_convert: Callable[[Any], Any] | None = plan.extra.convert
        else:
            self._extra_convert = None
        self.binary = {p.name: p.shape.binary for p in plan.parameters if p.shape.binary is not None}
        self.properties = {p.name for p in plan.parameters}
        # An explicit schema may not match the signature; then the signature is checked too.
        self._signature_check = explicit_schema
        self._required = [p.name for p in plan.parameters if p.required]
        self._wants_ctx = plan.wants_ctx

    def __call__(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        binary = ctx.binary
        view = self._without_binary(params, binary) if binary else params
        if (
            not self.validator.is_valid(view)
            or (binary and self._binary_problems(binary))
            or (self._signature_check and self._signature_problems(params))
        ):
            self._reject(params, view, binary)
        if self.converters or self._extra_convert or binary:
            params = self._convert(params, binary)
        result = self.function(ctx=ctx, **params) if self._wants_ctx else self.function(**params)
        if inspect.isgenerator(result):
            return _guard_generator(result, ctx, self.name, self._item_timeout(ctx))
        if inspect.isasyncgen(result):
            return _guard_async_generator(result, ctx)
        return result

    def _item_timeout(self, ctx: SessionContext) -> float | None:
        """The tool's timeout or the host's, whichever is shorter (as the host applies to async items)."""
        default = ctx.host.config.call_timeout
        if self.timeout is None or default is None:
            return self.timeout if default is None else default
        return min(self.timeout, default)

    # ------------------------------------------------------------ checking

    def _without_binary(self, params: dict[str, Any], binary: Mapping[str, Any]) -> dict[str, Any]:
        """What jsonschema sees: binary values it cannot judge are left out or replaced by a stand-in."""
        view = {}
        for name, value in params.items():
            if name not in binary:
                view[name] = value
            elif name in self.binary:
                view[name] = [] if _is_array(self.validator.schema, name) else ""
        return view

    def _signature_problems(self, params: Mapping[str, Any]) -> list[str]:
        found = [f"missing required parameter '{name}'" for name in self._required if name not in params]
        if self.plan.extra is None:
            found += [f"unknown parameter '{name}'" for name in params if name not in self.properties]
        return found

    def _binary_problems(self, binary: Mapping[str, Any]) -> list[str]:
        found = []
        for name in binary:
            if name in self.properties and name not in self.binary:
                found.append(f"parameter '{name}' arrived as binary data, but it does not accept binary")
            elif name not in self.properties and self.plan.extra is None:
                found.append(f"unknown parameter '{name}'")
        return found

    def _reject(self, params: Mapping[str, Any], view: Mapping[str, Any], binary: Mapping[str, Any]) -> None:
        problems = self.validator.problems(view) + self._binary_problems(binary)
        if self._signature_check:
            problems += self._signature_problems(params)
        raise InvalidArgument(_summary(self.name, problems or ["the parameters do not match the schema"]))

    # ------------------------------------------------------------ converting

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
            raise InvalidArgument(_summary(self.name, problems))
        return converted


def _is_array(schema: Mapping[str, Any], name: str) -> bool:
    prop = schema.get("properties", {}).get(name, {})
    return prop.get("type") == "array" or any(o.get("type") == "array" for o in prop.get("anyOf", ()))


def _summary(name: str, problems: list[str]) -> str:
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    return f"tool '{name}': {count} with the parameters: " + "; ".join(problems)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return text or type(exc).__name__


# ---------------------------------------------------------------- streaming guards


def _guard_generator(generator: Iterator[Any], ctx: SessionContext, name: str, timeout: float | None) -> Iterator[Any]:
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


async def _guard_async_generator(generator: AsyncIterator[Any], ctx: SessionContext) -> AsyncIterator[Any]:
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
