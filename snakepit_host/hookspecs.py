"""Every hook a snakepit-host plugin can implement.

A plugin is a module or object with functions marked ``@hookimpl`` and named
after a spec below; it is found through the ``snakepit`` entry-point group.
Implementations may accept any subset of a spec's arguments (pluggy's opt-in
arguments), which is how specs grow without breaking plugins: a minor
release only ever *adds* arguments, hooks or registrar keywords.

Registration hooks receive a registrar bound to the calling plugin, so every
command, tool, type and RPC knows its owner, and collisions name both sides.
The host calls each plugin's registration hooks in isolation: if one raises,
everything that plugin registered is withdrawn and the plugin is shown with
status ``error``; the other plugins are unaffected.

Order: ``register_types``, ``register_commands``, ``register_tools``,
``register_rpcs``, ``register_session_attributes`` (each across all plugins,
built-ins first, then entry points sorted by name), then ``prepare_tool``
for every tool, then ``host_started``. ``resolve_command`` runs at call time
for names nobody registered. ``stands_in_for`` and ``serve_adapter`` are
asked while plugins load, when the host is started with ``--adapter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    from snakepit_host._host import Host
    from snakepit_host._registry import Command, Registrar, Tool
    from snakepit_host._sessions import Session

PROJECT = "snakepit"
HOOK_API_VERSION = (1, 1)
"""(major, minor) of this hook surface. Minor bumps add; only a major bump removes."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_types(register: Registrar) -> None:
    """Register value types (for session variables and typed parameters).

    Call ``register.type(name, value_type)`` once per type, where
    ``value_type`` implements :class:`snakepit_host._value_types.ValueType`
    (validate, constraints, wire encoding, schema, description).

    :param register: registrar bound to this plugin.
    :returns: nothing; the return value is ignored.

    .. versionadded:: 1.0
    """


@hookspec
def register_commands(register: Registrar) -> None:
    """Register commands: named operations reachable through ExecuteTool.

    ``register.command(name, handler, description=..., parameters=...,
    streaming=..., timeout=...)``. The handler is called as
    ``handler(ctx, params)`` with a :class:`~snakepit_host._context.SessionContext`
    and the decoded parameter dict. It may be a plain function, ``async def``,
    a generator or an async generator (the last two for streaming commands).
    ``handler`` may also be a ``"package.module:attribute"`` string, imported
    on first call, which keeps heavy modules out of start-up.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec
def register_tools(register: Registrar) -> None:
    """Register tools: described callables that agents and Elixir can call.

    ``register.tool(function, name=..., description=..., parameters=...,
    returns=..., streaming=..., tags=..., timeout=...)``. A tool is called
    with keyword arguments taken from the request parameters; a parameter
    named ``ctx`` receives the :class:`~snakepit_host._context.SessionContext`.
    Tools share one namespace with commands.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec
def register_rpcs(register: Registrar) -> None:
    """Serve BridgeService RPCs that the host does not answer itself.

    ``register.rpc(method, handler)`` where ``method`` is a BridgeService
    method name such as ``"GetVariable"``, and ``handler(request, call)``
    returns the response message (or yields messages for server-streaming
    methods). ``call`` is a :class:`~snakepit_host._server.RpcCall`. Raise a
    :class:`~snakepit_host._errors.SnakepitError` to answer with its status.
    Only one plugin may serve a method.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec
def register_session_attributes(register: Registrar) -> None:
    """Add attributes to :class:`~snakepit_host._context.SessionContext`.

    ``register.session_attribute(name, factory)`` makes ``ctx.<name>``
    return ``factory(ctx)``, created on first access and cached for that
    call. This is how ``ctx.variables`` and ``ctx.tools`` exist.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def prepare_tool(tool: Tool) -> Tool | None:
    """Return a finished copy of a registered tool, or ``None`` to pass.

    Called once per tool after registration. A tool plugin uses it to derive
    the parameter schema from the signature and to install a validating
    ``invoker``. The first non-``None`` answer wins; with none, the host
    calls the function with the parameters as keyword arguments.

    :param tool: the tool as registered (frozen dataclass; use ``dataclasses.replace``).
    :returns: the prepared tool, or ``None``.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def resolve_command(name: str, session_id: str, host: Host) -> Command | None:
    """Supply a command the registry does not have, for one session; ``None`` to pass.

    Called only when ``name`` is neither registered nor one of the session's
    local commands, so it costs nothing on the normal path. snakepit-tools
    uses it to fetch a session's Elixir tools on the first call that names
    one. Return a :class:`~snakepit_host._registry.Command` (or ``Tool``)
    whose ``name`` is ``name``; raise a
    :class:`~snakepit_host._errors.SnakepitError` to explain why it cannot be
    looked up now (the caller's "unknown command" error quotes it).

    :param name: the command name the caller asked for.
    :param session_id: the call's session (it may not exist yet).
    :param host: the running host.
    :returns: the command, or ``None``.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def serve_adapter(spec: str) -> object | None:
    """Serve ``--adapter SPEC`` that is not a host plugin: return a plugin object for it, or ``None`` to pass.

    Asked, in plugin order, when the host is started with ``--adapter`` and no
    plugin :func:`stands_in_for` the spec. The returned object (with
    ``@hookimpl`` methods, like any plugin) is registered under a record named
    after the adapter, which ``snakepit-host plugins`` lists; its commands win
    name clashes with other plugins' (the hidden ones are listed as shadowed);
    a ``note`` string attribute on it is shown in the listing. snakepit-adapters
    uses it to serve Snakepit's own adapter classes. Raise to
    say why ``spec`` cannot be served (it becomes the adapter's error; in strict
    mode the host exits). Return ``None`` for specs that are host plugins.

    :param spec: the ``--adapter`` value, e.g. ``"snakepit_bridge.adapters.showcase.ShowcaseAdapter"``.
    :returns: a plugin object, or ``None``.

    .. versionadded:: 1.1
    """


@hookspec
def stands_in_for() -> list[str] | None:
    """``--adapter`` specs this plugin serves in place of the adapter itself.

    When the host is started with one of them (Snakepit passes its workers'
    adapter class), nothing is imported: this plugin's commands serve the
    calls, and the listing shows the adapter as served by this plugin.
    snakepit-dspy stands in for DSPex's ``dspex_adapters.dspy_grpc.DSPyGRPCHandler``.

    :returns: adapter specs (``"package.module.Class"``), compared exactly; ``None`` for none.

    .. versionadded:: 1.1
    """


@hookspec
def host_started(host: Host) -> None:
    """The host is serving: registries are frozen, the port is bound.

    Called before the readiness signal is sent, so keep it short; start
    background work in a thread. May be ``async def``.

    :param host: the running :class:`~snakepit_host._host.Host`.

    .. versionadded:: 1.0
    """


@hookspec
def host_stopping(host: Host) -> None:
    """The host is shutting down (SIGTERM, SIGINT, parent exit or heartbeat loss).

    In-flight calls are still finishing. Release resources quickly; the
    whole shutdown has a grace period of a few seconds. May be ``async def``.

    :param host: the stopping :class:`~snakepit_host._host.Host`.

    .. versionadded:: 1.0
    """


@hookspec
def session_created(session: Session, host: Host) -> None:
    """A session was created (first use of its id, or InitializeSession).

    :param session: the new :class:`~snakepit_host._sessions.Session`.
    :param host: the running host.

    .. versionadded:: 1.0
    """


@hookspec
def session_closed(session: Session, reason: str, host: Host) -> None:
    """A session ended.

    :param session: the session; its state is still readable.
    :param reason: ``"cleanup"`` (CleanupSession), ``"expired"`` (TTL) or ``"shutdown"``.
    :param host: the host.

    .. versionadded:: 1.0
    """


@hookspec
def add_arguments(parser: argparse._ArgumentGroup) -> None:
    """Add command-line options to ``snakepit-host serve``.

    ``parser`` is an argparse argument group titled after the plugin. Read
    the values at run time with ``host.option(dest, env=..., default=...)``,
    which also falls back to an environment variable, so Snakepit can
    configure the plugin either way. Use long options prefixed with the
    plugin's name (``--variables-store``) to avoid collisions.

    :param parser: the argument group for this plugin.

    .. versionadded:: 1.0
    """


@hookspec(historic=True)
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add hook specifications of your own for other plugins to implement.

    Call ``plugin_manager.add_hookspecs(module_or_class)``. Implementations
    of a plugin's hooks should be marked ``@hookimpl(optionalhook=True)`` so
    they do not fail when that plugin is not installed.

    :param plugin_manager: the host's pluggy manager.

    .. versionadded:: 1.0
    """


def hook_names() -> list[str]:
    """Names of every hook specified here, in declaration order."""
    return [name for name, value in globals().items() if _is_spec(value)]


def _is_spec(value: Any) -> bool:
    return callable(value) and hasattr(value, f"{PROJECT}_spec")
