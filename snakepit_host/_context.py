"""What a handler receives: the session, the host, and the call's details.

Plugins add attributes through ``register_session_attributes`` (as
snakepit-variables adds ``ctx.variables``). An attribute is created on
first access and cached for the rest of the call, so a handler that never
touches one pays nothing for it. ``ctx.host`` is typed as the plugin-facing
:class:`~snakepit_host._host_api.Host` protocol.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host._elixir_client import ElixirClient
    from snakepit_host._host_api import Host
    from snakepit_host._sessions import Session
    from snakepit_host.codec import TypedBuffer

log = logging.getLogger("snakepit_host")


class SessionContext:
    """Per-call view of a session, passed to every command and tool."""

    INSTANCE_ATTRIBUTES = frozenset(
        {"host", "session", "tool_name", "metadata", "binary", "deadline", "streaming", "_is_active", "_cancelled"}
    )
    """Attributes set in ``__init__``; plugins cannot register session attributes with these names."""

    def __init__(
        self,
        host: Host,
        session: Session,
        *,
        tool_name: str = "",
        metadata: Mapping[str, str] | None = None,
        binary: Mapping[str, bytes | TypedBuffer] | None = None,
        deadline: float | None = None,
        is_active: Callable[[], bool] | None = None,
        streaming: bool = False,
    ) -> None:
        self.host = host
        self.session = session
        self.tool_name = tool_name
        self.metadata: Mapping[str, str] = metadata or {}
        self.binary: Mapping[str, bytes | TypedBuffer] = binary or {}
        self.deadline = deadline
        self.streaming = streaming
        """True when the call came through ExecuteStreamingTool (the handler's items are streamed)."""
        self._is_active = is_active
        self._cancelled = False

    @classmethod
    def reserved_attributes(cls) -> frozenset[str]:
        """Names a plugin may not register as session attributes: the context's own."""
        return frozenset(name for name in dir(cls) if not name.startswith("__")) | cls.INSTANCE_ATTRIBUTES

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def elixir(self) -> ElixirClient | None:
        """Client of the Elixir BridgeServer, or None when running standalone."""
        return self.host.elixir

    @property
    def log(self) -> logging.Logger:
        return log

    @property
    def cancelled(self) -> bool:
        """True once the caller has gone away or the call timed out; long handlers should check it."""
        if not self._cancelled and self._is_active is not None and not self._is_active():
            self._cancelled = True
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def time_remaining(self) -> float | None:
        """Seconds until the call's deadline, or None when it has none."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: plugin-provided attributes.
        if name.startswith("_"):
            raise AttributeError(name)
        entry = self.host.registry.session_attributes.get(name)
        if entry is None:
            why = self.host.explain_missing("session_attributes", name)
            raise AttributeError(f"SessionContext has no attribute '{name}': {why}")
        value = entry.factory(self)
        self.__dict__[name] = value
        return value
