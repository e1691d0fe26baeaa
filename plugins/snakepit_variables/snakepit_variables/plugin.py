"""The ``variables`` plugin (entry point ``snakepit: variables``): hooks only.

Imports stay light: the value types, the RPC and the command modules are
registered by reference and imported on their first use (numpy only when an
array is touched).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakepit_host import hookimpl
from snakepit_variables import hookspecs
from snakepit_variables.catalog import COMMANDS, TYPES

if TYPE_CHECKING:
    import pluggy

    from snakepit_host import EntryRegistrar, Host, OptionRegistrar, Registrar, RpcCall, Session, SessionContext
    from snakepit_variables.protocol import Variables
    from snakepit_variables.stores import VariableStore

RPC_NAMES = (
    "RegisterVariable",
    "GetVariable",
    "SetVariable",
    "GetVariables",
    "SetVariables",
    "ListVariables",
    "DeleteVariable",
    "WatchVariables",
    "GetVariableHistory",
    "RollbackVariable",
    "AddDependency",
    "StartOptimization",
    "StopOptimization",
)


@hookimpl
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def register_options(register: OptionRegistrar) -> None:
    register.option(
        "variables_store",
        default="auto",
        env="SNAKEPIT_VARIABLES_STORE",
        metavar="NAME",
        help="where session variables live: memory, sqlite (one file shared by a pool's workers), redis "
        "(shared across machines), elixir (Snakepit 0.4.x session store), auto (elixir when it serves the "
        "variable RPCs, else sqlite when launched by Snakepit, else memory) or a store another plugin adds",
    )
    register.option(
        "variables_sqlite_path",
        env="SNAKEPIT_VARIABLES_SQLITE_PATH",
        metavar="FILE",
        help="sqlite store: the database file (default: one per Snakepit run id under $XDG_RUNTIME_DIR or the "
        "temporary directory)",
    )
    register.option(
        "variables_redis_url",
        default="redis://127.0.0.1:6379/0",
        env="SNAKEPIT_VARIABLES_REDIS_URL",
        metavar="URL",
        help="redis store: the server",
    )
    register.option(
        "variables_redis_prefix",
        default="snakepit-variables",
        env="SNAKEPIT_VARIABLES_REDIS_PREFIX",
        metavar="TEXT",
        help="redis store: prefix of every key; pools that must not share variables use different ones",
    )
    register.option(
        "variables_cache_ttl",
        type=float,
        default=1.0,
        minimum=0,
        env="SNAKEPIT_VARIABLES_CACHE_TTL",
        metavar="SECONDS",
        help="elixir store: how long a read trusts its cache before checking the version",
    )
    register.option(
        "variables_history",
        type=int,
        default=100,
        minimum=1,
        env="SNAKEPIT_VARIABLES_HISTORY",
        metavar="N",
        help="versions kept per variable for history and rollback",
    )


@hookimpl
def register_types(register: Registrar) -> None:
    for name, ref in TYPES.items():
        register.type(name, ref)


@hookimpl
def register_commands(register: Registrar) -> None:
    for name, (description, parameters) in COMMANDS.items():
        register.command(
            name, f"snakepit_variables.commands:{name}", description=description, parameters=parameters, streaming=False
        )


def _lazy_rpc(method: str) -> Callable[[Any, RpcCall], Any]:
    """A handler that imports the RPC module on its first call."""

    def handler(request: Any, call: RpcCall) -> Any:
        rpcs = importlib.import_module("snakepit_variables.rpcs")
        return rpcs.HANDLERS[method](request, call)

    handler.__name__ = method
    return handler


@hookimpl
def register_rpcs(register: Registrar) -> None:
    for method in RPC_NAMES:
        register.rpc(method, _lazy_rpc(method))


def session_variables(ctx: SessionContext) -> Variables:
    """``ctx.variables``: the session's :class:`~snakepit_variables.session_variables.SessionVariables`."""
    from snakepit_variables.host_state import runtime_for

    return runtime_for(ctx.host).variables(ctx.session)


@hookimpl
def register_session_attributes(register: Registrar) -> None:
    register.session_attribute("variables", session_variables)


@hookimpl
def register_variable_stores(register: EntryRegistrar) -> None:
    register("memory", _memory_store)
    register("elixir", _elixir_store)
    register("sqlite", _sqlite_store)
    register("redis", _redis_store)


def _memory_store(host: Host) -> VariableStore:
    from snakepit_variables.stores import MemoryStore

    return MemoryStore()


def _elixir_store(host: Host) -> VariableStore:
    from snakepit_variables.elixir_store import ElixirStore
    from snakepit_variables.host_state import runtime_for

    return ElixirStore(host, runtime_for(host).cache_ttl)


def _sqlite_store(host: Host) -> VariableStore:
    from pathlib import Path

    from snakepit_variables.host_state import runtime_for
    from snakepit_variables.sqlite_store import SQLiteStore, default_path

    runtime = runtime_for(host)
    configured = host.option("variables_sqlite_path")
    path = Path(configured).expanduser() if configured else default_path(host.config.run_id)
    return SQLiteStore(
        path, runtime.value_type, history_limit=runtime.history_limit, session_ttl=host.config.session_ttl
    )


def _redis_store(host: Host) -> VariableStore:
    from snakepit_variables.host_state import runtime_for
    from snakepit_variables.redis_store import RedisStore

    runtime = runtime_for(host)
    return RedisStore(
        str(host.option("variables_redis_url")),
        str(host.option("variables_redis_prefix")),
        runtime.value_type,
        history_limit=runtime.history_limit,
        session_ttl=host.config.session_ttl,
    )


@hookimpl
def host_started(host: Host) -> None:
    from snakepit_variables.host_state import runtime_for

    runtime_for(host)  # describe shows the requested store; it is chosen (and opened) on first use


@hookimpl
def host_stopping(host: Host) -> None:
    from snakepit_variables.host_state import runtime_for

    runtime_for(host).close()


@hookimpl
def session_closed(session: Session, host: Host) -> None:
    from snakepit_variables.host_state import runtime_for

    runtime_for(host).session_closed(session)
