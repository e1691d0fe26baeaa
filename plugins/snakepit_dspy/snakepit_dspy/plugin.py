"""Entry module of snakepit-dspy (``[project.entry-points.snakepit] dspy``).

It imports only the host and :mod:`snakepit_dspy.catalog` (plain data):
every command is registered as a lazy ``"module:function"`` reference with
a static description and JSON schema, so a worker that never runs a DSPy
command never imports ``dspy``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_dspy.catalog import COMMANDS
from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host import OptionRegistrar, Registrar


@hookimpl
def register_options(register: OptionRegistrar) -> None:
    register.option(
        "dspy_api_bases",
        default="",
        env="SNAKEPIT_DSPY_API_BASES",
        metavar="PREFIXES",
        help="comma-separated endpoint prefixes (api_base) that may receive an API key from this worker's "
        "environment; a key passed with the call may go anywhere",
    )


@hookimpl
def register_commands(register: Registrar) -> None:
    for spec in COMMANDS:
        register.command(
            spec.name,
            spec.handler,
            description=spec.description,
            parameters=spec.parameters,
            streaming=spec.streaming,
        )


DSPEX_ADAPTER = "dspex_adapters.dspy_grpc.DSPyGRPCHandler"
"""The adapter DSPex names in its pools' ``adapter_args``; this plugin serves its commands instead."""


@hookimpl
def stands_in_for() -> list[str] | None:
    return [DSPEX_ADAPTER]
