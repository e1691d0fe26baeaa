"""Entry module of snakepit-adapters (``[project.entry-points.snakepit] adapters``).

It imports only the host: the adapter machinery loads when the host is
started with an ``--adapter`` that is not a host plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host import OptionRegistrar

PROTOCOL_OPTION = "adapter_protocol"
"""``--adapter-protocol`` / ``$SNAKEPIT_ADAPTER_PROTOCOL``: the Snakepit version whose server is reproduced."""
PROTOCOL_VERSIONS = ("0.4", "0.13")


@hookimpl
def register_options(register: OptionRegistrar) -> None:
    register.option(
        PROTOCOL_OPTION,
        choices=PROTOCOL_VERSIONS,
        env="SNAKEPIT_ADAPTER_PROTOCOL",
        metavar="VERSION",
        help="encode the adapter's results, errors and stream items as this Snakepit version's server does "
        "(when unset: from how Snakepit launched the worker)",
    )


@hookimpl
def serve_adapter(spec: str) -> object | None:
    from snakepit_adapters.loading import serve

    return serve(spec)
