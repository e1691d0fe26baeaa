"""The plugin object the host registers for one Snakepit adapter.

Its record is named after the adapter class (``snakepit-host plugins`` lists
it). Each ``@tool`` method is a command of that name; the host lets those
commands win name clashes (the hidden plugin command is listed as shadowed),
because Elixir code addressing the adapter's tools means the adapter's. An
adapter with ``execute_tool`` also answers every name nobody registered
(``resolve_command``, asked after the other plugins' resolvers), as
Snakepit's server sends every call there.

``execute_tool`` receives the ``arguments`` Snakepit's server would pass:
every parameter the caller sent, including ``session_id`` when Snakepit's
``execute_in_session`` put it there (SnakeBridge reads it); the host removes
that routing key from other plugins' parameters, so these commands are
registered with ``keep_routing``. A ``@tool`` method called directly (an
adapter without ``execute_tool``) gets only its own parameters.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from snakepit_adapters.discovery import PERMISSIVE_SCHEMA
from snakepit_host import Command, hookimpl

if TYPE_CHECKING:
    from snakepit_adapters.calls import AdapterRuntime
    from snakepit_adapters.discovery import AdapterClass, AdapterTool
    from snakepit_host import Host, Registrar, Session, SessionContext

log = logging.getLogger("snakepit_adapters")

MAX_CACHED_FALLBACKS = 1024


class ServedAdapter:
    """Hooks serving one adapter class; per-host state lives in :class:`AdapterRuntime`."""

    def __init__(self, adapter: AdapterClass) -> None:
        self.adapter = adapter
        self.state_key = f"snakepit-adapters:{adapter.spec}"
        self.owner: str | None = None
        self._fallbacks: dict[str, Command] = {}
        parts = [f"Snakepit adapter {adapter.name}", f"{len(adapter.tools)} @tool method(s)"]
        if adapter.dispatches:
            parts.append("execute_tool answers any name no plugin registered")
        if not adapter.thread_safe:
            parts.append("calls serialised (no __thread_safe__)")
        self.note = "; ".join(parts)
        """Shown by ``snakepit-host plugins``."""

    def runtime(self, host: Host) -> AdapterRuntime:
        from snakepit_adapters.calls import AdapterRuntime

        return host.state(self.state_key, lambda: AdapterRuntime(self.adapter, host))

    @hookimpl
    def register_commands(self, register: Registrar) -> None:
        self.owner = register.owner
        for tool in self.adapter.tools:
            register.command(
                tool.name,
                AdapterCall(self, tool.name, tool),
                description=tool.description,
                parameters=tool.parameters,
                streaming=tool.streaming,
                metadata=tool.metadata,
                keep_routing=self.adapter.dispatches,
            )

    @hookimpl
    def resolve_command(self, name: str, session_id: str, host: Host) -> Command | None:
        if not self.adapter.dispatches or self.owner is None:
            return None
        command = self._fallbacks.get(name)
        if command is None:
            if len(self._fallbacks) >= MAX_CACHED_FALLBACKS:
                self._fallbacks.clear()
            command = self._fallbacks[name] = Command(
                name=name,
                owner=self.owner,
                target=AdapterCall(self, name, None),
                description=f"answered by {self.adapter.name}.execute_tool",
                parameters=PERMISSIVE_SCHEMA,
                metadata={"adapter_class": self.adapter.name, "module": self.adapter.cls.__module__},
                keep_routing=True,
            )
        return command

    @hookimpl
    def host_started(self, host: Host) -> None:
        protocol = self.runtime(host).protocol
        log.info(
            "adapter %s served with Snakepit %s's encodings: %s", self.adapter.spec, protocol.version, protocol.reason
        )

    @hookimpl
    def session_closed(self, session: Session, host: Host) -> None:
        runtime: AdapterRuntime | None = host.get_state(self.state_key)
        if runtime is not None:
            runtime.forget(session.id)


class AdapterCall:
    """Handler of one adapter command: ``tool`` for a declared ``@tool`` method, None for ``execute_tool`` names."""

    def __init__(self, served: ServedAdapter, name: str, tool: AdapterTool | None) -> None:
        self.served = served
        self.name = name
        self.tool = tool
        self.__name__ = name

    def __call__(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        runtime = self.served.runtime(ctx.host)
        if ctx.streaming:
            return runtime.stream(self.name, self.tool, ctx, params)
        return runtime.unary(self.name, self.tool, ctx, params)
