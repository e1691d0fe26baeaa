"""Why something nobody registered is missing: wording for error messages, and nothing else.

The host's logic knows no plugin by name. Only here, to word an error, are
the names that this repository's distributions provide: when a caller asks
for one of them (an RPC, a command, a ``ctx`` attribute) and nothing
serves it, the message says which distribution would, and what is really
the case: not installed, installed after this worker started, disabled, or
failed to load. ``tests/test_provider_hints.py`` checks every name here
against what the distributions really register.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from snakepit_host._bridge_methods import plugin_methods
from snakepit_host._entry_points import normalize, scan

ELIXIR_SIDE_RPCS = frozenset({"RegisterTools", "GetExposedElixirTools", "ExecuteElixirTool"})
"""BridgeService methods that Elixir's BridgeServer serves and workers call; Elixir never calls them on a worker."""

FIRST_PARTY: dict[str, dict[str, frozenset[str]]] = {
    "snakepit-variables": {
        # Every BridgeService method that neither the host nor Elixir's side answers is a variable method
        # (Snakepit 0.4's variable service), so the proto names them rather than a second list here.
        "rpcs": frozenset(plugin_methods()) - ELIXIR_SIDE_RPCS,
        "commands": frozenset(
            {
                "register_variable",
                "get_variable",
                "set_variable",
                "get_variables",
                "set_variables",
                "list_variables",
                "delete_variable",
                "variable_history",
                "rollback_variable",
            }
        ),
        "session_attributes": frozenset({"variables"}),
    },
    "snakepit-tools": {
        "commands": frozenset({"list_tools", "describe_tool", "call_elixir_tool"}),
        "session_attributes": frozenset({"tools"}),
    },
    "snakepit-dspy": {
        "commands": frozenset(
            {
                "configure_lm",
                "check_dspy",
                "bind_dspy_variable",
                "enhanced_predict",
                "enhanced_chain_of_thought",
                "react",
                "stream_chain_of_thought",
                "stream_predict_batch",
                "call_dspy",
                "list_dspy_modules",
                "discover_dspy_schema",
                "create_program",
                "execute_program",
                "get_program_info",
                "list_programs",
                "delete_program",
                "save_program",
                "load_program",
                "optimize_program",
            }
        ),
    },
}
"""Distribution -> kind (as in a plugin's ``provides``) -> the names it registers."""

RESTART = "workers find plugins when they start"


class PluginFacts(Protocol):
    """What a hint needs to know of a plugin (a plugin record has it)."""

    name: str
    distribution: str | None
    status: str
    error: str | None


def provider_of(kind: str, name: str) -> str | None:
    """The first-party distribution that registers ``name`` as ``kind``, if any."""
    return next((dist for dist, provided in FIRST_PARTY.items() if name in provided.get(kind, ())), None)


def why_missing(
    kind: str, name: str, plugins: Iterable[PluginFacts], *, finds_installed: bool, subject: str = "it"
) -> str:
    """A clause saying why nothing serves ``name`` (``kind`` as in ``provides``), for the end of an error.

    ``plugins`` are this host's plugin records; ``finds_installed`` says
    whether the host loads installed plugins (``serve`` does; a test's host
    may not).
    """
    if kind == "rpcs" and name in ELIXIR_SIDE_RPCS:
        return (
            f"{name} is a method of Elixir's BridgeServer, which workers call (snakepit-tools does); "
            "Elixir does not call it on a worker"
        )
    distribution = provider_of(kind, name)
    if distribution is None:
        return f"no loaded plugin provides {subject} (see 'snakepit-host plugins')"
    record = next((p for p in plugins if p.distribution and normalize(p.distribution) == distribution), None)
    if record is not None:
        where = f"{distribution} (plugin '{record.name}')"
        if record.status == "disabled":
            return f"{subject} comes with {where}, which is disabled on this worker (--plugins, --disable-plugin)"
        if record.status != "loaded":
            return f"{subject} comes with {where}, which failed to load: {record.error}"
        return f"{where} is loaded but does not provide {subject}"
    installed = distribution in installed_distributions()
    if not finds_installed:
        if installed:
            return f"{subject} comes with {distribution}, which is installed but not loaded by this host"
        return f"install {distribution} to get {subject}"
    if installed:
        return f"{distribution} was installed after this worker started; restart the worker to load it ({RESTART})"
    return f"install {distribution} to get {subject} ({RESTART})"


def installed_distributions() -> set[str]:
    """Distributions that declare a ``snakepit`` entry point now (read again on each call: an error path)."""
    return {normalize(ep.distribution) for ep in scan("snakepit") if ep.distribution}
