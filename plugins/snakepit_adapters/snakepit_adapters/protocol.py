"""Which Snakepit an adapter is served for, and what that changes.

Snakepit 0.4.1 and 0.13 encode results, errors and stream items differently
and hand adapters different context objects. The version is decided once per
host, from the first of:

1. ``--adapter-protocol 0.4|0.13`` (or ``$SNAKEPIT_ADAPTER_PROTOCOL``);
2. the launch: ``$SNAKEPIT_READY_FILE`` is set only by Snakepit 0.13 (the
   same signal as ``--error-format auto``);
3. ``--snakepit-run-id`` without a ready file: Snakepit 0.4;
4. not launched by Snakepit: the ``snakepit_bridge`` the adapter imported
   (0.4.x's context has the variable API, 0.13's does not);
5. otherwise 0.13.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from snakepit_adapters import encoding
from snakepit_adapters.contexts import SessionContextV013, SessionContextV04
from snakepit_adapters.plugin import PROTOCOL_OPTION
from snakepit_host import StreamChunk

if TYPE_CHECKING:
    from snakepit_adapters.discovery import AdapterClass
    from snakepit_host import Host, SessionContext

_CALLSITE_KEYS = ("library", "python_module", "function", "call_type", "payload_version")


class Protocol:
    """What differs between the Snakepit versions, for one host."""

    version = ""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"

    def result(self, value: Any) -> Any:
        raise NotImplementedError

    def error_message(self, exc: BaseException, ctx: SessionContext, arguments: dict[str, Any] | None) -> str:
        raise NotImplementedError

    def chunk(self, item: Any) -> StreamChunk:
        raise NotImplementedError

    def context(self, ctx: SessionContext) -> Any:
        raise NotImplementedError


class Snakepit04(Protocol):
    """Snakepit 0.4.1: ``str(exc)`` errors, typed results, JSON chunks, the variable API in the context."""

    version = "0.4"

    def result(self, value: Any) -> Any:
        return encoding.result_v04(value)

    def error_message(self, exc: BaseException, ctx: SessionContext, arguments: dict[str, Any] | None) -> str:
        return str(exc)

    def chunk(self, item: Any) -> StreamChunk:
        module = sys.modules.get("snakepit_bridge.adapters.showcase.tool")
        return StreamChunk(encoding.chunk_v04(item, getattr(module, "StreamChunk", None)))

    def context(self, ctx: SessionContext) -> SessionContextV04:
        return SessionContextV04(ctx)


MAX_ERROR_BYTES = 4000
"""A 0.13 error payload is kept under the host's status-message limit (4 KiB), frames dropped first."""
MAX_MESSAGE_CHARS = 1000


class Snakepit013(Protocol):
    """Snakepit 0.13: structured JSON errors, lenient results, raw string chunks, a minimal context."""

    version = "0.13"

    def result(self, value: Any) -> Any:
        return encoding.result_v013(value)

    def error_message(self, exc: BaseException, ctx: SessionContext, arguments: dict[str, Any] | None) -> str:
        stacktrace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        context: dict[str, Any] = {"tool_name": ctx.tool_name, "session_id": ctx.session_id}
        if isinstance(arguments, dict):
            context.update({key: arguments[key] for key in _CALLSITE_KEYS if key in arguments})
        payload: dict[str, Any] = {
            "type": type(exc).__name__,
            "message": str(exc)[:MAX_MESSAGE_CHARS],
            "stacktrace": stacktrace,
            "traceback": "".join(stacktrace),
            "context": {k: v for k, v in context.items() if v is not None},
        }
        text = json.dumps(payload, default=str)
        while len(text.encode()) > MAX_ERROR_BYTES and len(payload["stacktrace"]) > 1:
            # A stream's error travels as the gRPC status message, which the host cuts at 4 KiB: drop the
            # outermost frames (the innermost, where it failed, matter most) so the JSON stays whole.
            del payload["stacktrace"][1]
            payload["traceback"] = "".join(payload["stacktrace"])
            text = json.dumps(payload, default=str)
        return text

    def chunk(self, item: Any) -> StreamChunk:
        data, final, metadata = encoding.chunk_v013(item)
        return StreamChunk(data, is_final=final, metadata=metadata)

    def context(self, ctx: SessionContext) -> SessionContextV013:
        return SessionContextV013(ctx)


def detect(host: Host, adapter: AdapterClass) -> Protocol:
    """The protocol for ``adapter`` on ``host`` (rules in the module docstring)."""
    chosen: str | None = host.option(PROTOCOL_OPTION)  # checked at start-up: one of PROTOCOL_VERSIONS
    if chosen is not None:
        return _make(chosen, f"set by --adapter-protocol / $SNAKEPIT_ADAPTER_PROTOCOL ({chosen})")
    if os.environ.get("SNAKEPIT_READY_FILE"):
        return Snakepit013("launched by Snakepit 0.13 ($SNAKEPIT_READY_FILE is set)")
    if host.config.run_id:
        return Snakepit04("launched by Snakepit 0.4 (--snakepit-run-id without $SNAKEPIT_READY_FILE)")
    if adapter.bridge is not None:
        return _make(adapter.bridge, f"the adapter's snakepit_bridge is Snakepit {adapter.bridge}'s")
    return Snakepit013("no launch signal and no snakepit_bridge: the current Snakepit")


def _make(version: str, reason: str) -> Protocol:
    return Snakepit04(reason) if version == "0.4" else Snakepit013(reason)
