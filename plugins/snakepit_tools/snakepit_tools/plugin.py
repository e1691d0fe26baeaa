"""snakepit-tools' hooks (the ``tools`` entry point).

Imports only the host and light stdlib; the bridge with Elixir is imported
and made on its first use (a session Elixir knows, or one that calls it). Schemas, validation and conversion
of every tool are the host's; this plugin adds ``ctx.tools``, the commands
that list, describe and call tools, and the bridge with Elixir's tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import hookimpl
from snakepit_tools import commands

if TYPE_CHECKING:
    from snakepit_host import Host, OptionRegistrar, Registrar, Session, SessionContext, Tool
    from snakepit_tools.protocol import Tools


@hookimpl
def register_options(register: OptionRegistrar) -> None:
    register.option(
        "tools_worker_id",
        env="SNAKEPIT_WORKER_ID",
        metavar="ID",
        help="id under which this worker's tools are registered with Elixir "
        "(when unset: the id in $SNAKEPIT_READY_FILE, else snakepit-host@<address>)",
    )
    register.option(
        "tools_elixir_timeout",
        type=float,
        default=commands.DEFAULT_ELIXIR_TIMEOUT,
        minimum=0,
        env="SNAKEPIT_TOOLS_ELIXIR_TIMEOUT",
        metavar="SECONDS",
        help="seconds an Elixir tool call may take when the caller set no deadline; 0 means the default",
    )


@hookimpl
def register_commands(register: Registrar) -> None:
    register.command("list_tools", commands.list_tools, parameters=commands.LIST_TOOLS_SCHEMA)
    register.command("describe_tool", commands.describe_tool, parameters=commands.DESCRIBE_TOOL_SCHEMA)
    register.command("call_elixir_tool", commands.call_elixir_tool, parameters=commands.CALL_ELIXIR_TOOL_SCHEMA)


@hookimpl
def register_session_attributes(register: Registrar) -> None:
    register.session_attribute("tools", session_tools)


def session_tools(ctx: SessionContext) -> Tools:
    """``ctx.tools`` (see :class:`snakepit_tools.session_tools.SessionTools`)."""
    from snakepit_tools.elixir_bridge import bridge_for
    from snakepit_tools.session_tools import SessionTools

    return SessionTools(ctx, bridge_for(ctx.host))


@hookimpl
def session_created(session: Session, host: Host) -> None:
    if host.config.elixir_address is not None:
        from snakepit_tools.elixir_bridge import bridge_for

        bridge_for(host).session_created(session)


@hookimpl
def resolve_command(name: str, session_id: str, host: Host) -> Tool | None:
    """An Elixir tool named on the first call of a session, before its tools were fetched."""
    if host.config.elixir_address is None:
        return None
    from snakepit_tools.elixir_bridge import bridge_for

    session, _ = host.sessions.ensure(session_id)
    return bridge_for(host).elixir_tools(session).get(name)


@hookimpl
def host_stopping(host: Host) -> None:
    from snakepit_tools.elixir_bridge import close_bridge

    close_bridge(host)
