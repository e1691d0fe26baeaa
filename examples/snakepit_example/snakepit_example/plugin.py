"""The ``example`` plugin's hooks (entry point ``example = "snakepit_example.plugin"``).

This module is imported at every worker start, so it imports only the host
(already loaded) at top level. Each hook imports the module it needs when
it runs, and the command and the value type are registered as
``"module:attribute"`` strings, imported on their first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host import Host, Registrar, Session


@hookimpl
def register_types(register: Registrar) -> None:
    register.type("money", "snakepit_example.money:MoneyType")  # imported (and made) on first use


@hookimpl
def register_tools(register: Registrar) -> None:
    from snakepit_example import tools

    register.tool(tools.split_bill, tags=["money"])
    register.tool(tools.payment_schedule, tags=["money", "streaming"], timeout=60)


@hookimpl
def register_commands(register: Registrar) -> None:
    register.command(
        "example_sessions",
        "snakepit_example.sessions:session_stats",
        description="How many sessions this worker has seen: open, created, closed (by reason)",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
        streaming=False,
    )


@hookimpl
def host_started(host: Host) -> None:
    from snakepit_example import sessions

    sessions.counts(host)  # counting starts now: describe shows zeros rather than nothing


@hookimpl
def session_created(session: Session, host: Host) -> None:
    from snakepit_example import sessions

    sessions.counts(host).opened()


@hookimpl
def session_closed(session: Session, reason: str, host: Host) -> None:
    from snakepit_example import sessions

    sessions.counts(host).ended(reason)
