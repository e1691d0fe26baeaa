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
        metavar="URLS",
        help="comma-separated endpoints (api_base) that may receive an API key from this worker's environment: "
        "same scheme, host and port, path at or under the entry's; a key passed with the call may go anywhere",
    )
    register.option(
        "dspy_call_allow",
        default="",
        env="SNAKEPIT_DSPY_CALL_ALLOW",
        metavar="NAMES",
        help="comma-separated DSPy names call_dspy may reach besides its default allow-list "
        "(e.g. dspy.ProgramOfThought,dspy.datasets.HotPotQA)",
    )
    register.option(
        "dspy_default_lm",
        default="",
        env="SNAKEPIT_DSPY_DEFAULT_LM",
        metavar="MODEL",
        help="LiteLLM model (e.g. openai/gpt-4o-mini) every session without an LM of its own uses; "
        "its key comes from the provider's usual environment variable",
    )
    register.option(
        "dspy_callers_set_default",
        type=bool,
        default=False,
        env="SNAKEPIT_DSPY_CALLERS_SET_DEFAULT",
        help="let configure_lm default=true from any session change the LM of every session",
    )
    register.option(
        "dspy_max_instances",
        type=int,
        default=1000,
        minimum=1,
        env="SNAKEPIT_DSPY_MAX_INSTANCES",
        metavar="N",
        help="instances call_dspy keeps per session; storing one more evicts the least recently used",
    )
    register.option(
        "dspy_instance_ttl",
        type=float,
        default=3600.0,
        minimum=1,
        env="SNAKEPIT_DSPY_INSTANCE_TTL",
        metavar="SECONDS",
        help="a stored instance unused this long expires",
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
