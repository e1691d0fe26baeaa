"""How results carry ``success``, and how a call in the seed/DSPex form answers its failures.

DSPex matches on the result map of every DSPy command: ``success: true``
with the fields, or ``success: false`` with ``error``, a string it
interpolates. So every command's result carries ``success``, and a call in
the seed/DSPex form answers a refusal or failure in its result,
``{"success": false, "error": ..., "error_type": <gRPC status name>}``, as
DSPex's own handler did; the session keeps its state and the host keeps
serving. A call in the richer form fails the call instead (the gRPC status
in the response), as it always has; Snakepit turns either into
``{:error, message}`` for its caller. Parameters the command's schema
refuses never reach a handler, so they fail the call in both forms.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakepit_host import SnakepitError

if TYPE_CHECKING:
    from snakepit_host import SessionContext

log = logging.getLogger("snakepit_dspy")

Handler = Callable[["SessionContext", dict[str, Any]], dict[str, Any]]


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, **result}


def failed(exc: SnakepitError) -> dict[str, Any]:
    return {"success": False, "error": str(exc), "error_type": exc.status}


def answered(handler: Handler, ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """``handler``'s result with ``success: true``, or its failure as ``success: false`` (seed/DSPex form)."""
    try:
        return succeeded(handler(ctx, params))
    except SnakepitError as exc:
        log.info("%s answered success: false (%s): %s", ctx.tool_name, exc.status, exc)
        return failed(exc)


def succeeds(handler: Handler) -> Handler:
    """A handler of one form only: ``success: true`` added to its result; a failure fails the call."""

    @functools.wraps(handler)
    def run(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
        return succeeded(handler(ctx, params))

    return run


def answers(handler: Handler) -> Handler:
    """A command of the seed/DSPex form only: every failure is answered as ``success: false``."""

    @functools.wraps(handler)
    def run(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
        return answered(handler, ctx, params)

    return run
