"""The host's own commands, registered as the essential ``core`` plugin."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from snakepit_host._errors import InvalidArgument
from snakepit_host._version import __version__
from snakepit_host.codec import Result
from snakepit_host.hookspecs import hookimpl

if TYPE_CHECKING:
    from snakepit_host._context import SessionContext
    from snakepit_host._registry import Registrar


def ping(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Answer at once: proves the worker is alive and dispatching."""
    return {"status": "ok", "host_version": __version__, "session_id": ctx.session_id, "time": time.time()}


def echo(ctx: SessionContext, params: dict[str, Any]) -> Any:
    """Return the parameters unchanged; a binary parameter comes back as the binary result."""
    if not ctx.binary:
        return params
    if len(ctx.binary) > 1:
        raise InvalidArgument(
            f"echo returns one binary parameter (the response has one binary_result); got {len(ctx.binary)}: "
            + ", ".join(sorted(ctx.binary))
        )
    name, data = next(iter(ctx.binary.items()))
    plain = {k: v for k, v in params.items() if k not in ctx.binary}
    return Result(value=plain, binary=data, metadata={"binary_parameter": name})


def describe(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Host version, plugins, commands, tools, types and RPCs, with schemas."""
    return ctx.host.describe()


def stats(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Calls, errors and latency percentiles per command since start, sessions, streams, memory, uptime."""
    return ctx.host.stats()


@hookimpl
def register_commands(register: Registrar) -> None:
    register.command("ping", ping, parameters={"type": "object"})
    register.command("echo", echo, parameters={"type": "object"})
    register.command("describe", describe, parameters={"type": "object", "properties": {}})
    register.command("stats", stats, parameters={"type": "object", "properties": {}})
