"""Every hook a snakepit-host plugin can implement.

A plugin is a module or object with functions marked ``@hookimpl`` and named
after a spec below; it is found through the ``snakepit`` entry-point group.
Implementations may accept any subset of a spec's arguments (pluggy's opt-in
arguments), which is how specs grow without breaking plugins: a minor
release only ever *adds* arguments, hooks or registrar keywords.

Registration hooks receive a registrar bound to the calling plugin, so every
command, tool, type and RPC knows its owner, and collisions name both sides.
The host calls every hook through pluggy, one plugin at a time (so
``pm.trace`` and ``add_hookcall_monitoring`` see each call), which keeps
plugins isolated: if one raises, everything that plugin registered is
withdrawn and the plugin is shown with status ``error``; the other plugins
are unaffected.

Order of plugins within a hook: built-ins first, then the others with
``tryfirst=True`` implementations ahead and ``trylast=True`` ones behind;
otherwise entry points sorted by name, then plugins added directly
(``--adapter``, the testing kit) in the order added. Order of hooks:
``add_hookspecs`` (as each plugin registers), ``register_options``, then
``register_types``, ``register_commands``, ``register_tools``,
``register_rpcs``, ``register_session_attributes``, ``register_call_observers``, then the registration
hooks plugins declare with :func:`registration_hookspec`, then the host
prepares every tool (its schema from its signature) and offers it to
``prepare_tool``, then ``host_started``. ``resolve_command`` runs at call
time for names nobody registered. ``stands_in_for`` and ``serve_adapter``
are asked while plugins load, when the host is started with ``--adapter``.

Refused at load (status ``error``, with the reason): ``wrapper=True`` or
``hookwrapper=True`` on a host hook, generator functions, and ``async def``
anywhere but the lifecycle hooks (``host_started``, ``host_stopping``,
``session_created``, ``session_closed``), which the host awaits.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:
    from snakepit_host._host_api import Host
    from snakepit_host._options import OptionRegistrar
    from snakepit_host._registry import Command, Registrar, Tool
    from snakepit_host._sessions import Session

PROJECT = "snakepit"
HOOK_API_VERSION = (2, 0)
"""(major, minor) of this hook surface. Minor bumps add; only a major bump removes."""
REGISTRATION_KIND_ATTRIBUTE = "snakepit_registration_kind"
"""Attribute :func:`registration_hookspec` sets on a spec: the kind of entries its hook registers."""

F = TypeVar("F", bound=Callable[..., Any])

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_types(register: Registrar) -> None:
    """Register value types (for session variables and typed parameters).

    Call ``register.type(name, value_type)`` once per type, where
    ``value_type`` implements :class:`snakepit_host.ValueType`
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
    ``handler(ctx, params)`` with a :class:`snakepit_host.SessionContext`
    and the decoded parameter dict, which the host has checked against the
    ``parameters`` JSON schema (every problem reported to the caller at once,
    the handler not run) and from which it has removed the routing key
    ``session_id`` (kept for commands registered with ``keep_routing=True``).
    It may be a plain function, ``async def``,
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
    named ``ctx`` receives the :class:`snakepit_host.SessionContext`.
    The host derives the parameter schema from the signature, type hints and
    docstring (or completes an explicit ``parameters=`` one), validates every
    call against it and converts the values as the hints ask.
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
    methods). ``call`` is a :class:`snakepit_host.RpcCall`. Raise a
    :class:`snakepit_host.SnakepitError` to answer with its status.
    Only one plugin may serve a method.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec
def register_session_attributes(register: Registrar) -> None:
    """Add attributes to :class:`snakepit_host.SessionContext`.

    ``register.session_attribute(name, factory)`` makes ``ctx.<name>``
    return ``factory(ctx)``, created on first access and cached for that
    call. This is how ``ctx.variables`` and ``ctx.tools`` exist.

    :param register: registrar bound to this plugin.

    .. versionadded:: 1.0
    """


@hookspec
def register_call_observers(register: Registrar) -> None:
    """Observe every ExecuteTool and ExecuteStreamingTool call (tracing, metrics).

    ``register.call_observer(name, factory)``: the host calls ``factory(host)``
    once as it starts serving; it returns ``None`` when the observer is not
    enabled (read your option with ``host.option``), or an object with
    ``call_started(call)``, which runs as each call begins and may return a
    function that runs, with the same ``call``, when it has ended. ``call``
    is the current :func:`snakepit_host.current_call`: correlation id,
    command, session, sizes and outcome. Observers must be quick and must
    not raise (a failure is logged; the call goes on). With no observer
    enabled, the call path does no observer work at all.

    :param register: registrar bound to this plugin.

    .. versionadded:: 2.0
    """


@hookspec(firstresult=True)
def prepare_tool(tool: Tool) -> Tool | None:
    """Return a changed copy of a tool the host has prepared, or ``None`` to pass.

    Called once per registered Python tool after registration. The tool
    arrives prepared: ``parameters`` is the schema the host will enforce
    (derived from the signature, or the explicit one completed), ``returns``
    the result schema, ``invoker`` the host's call of the function. A lazy
    (``"module:attr"``) tool arrives as registered (``invoker`` is ``None``)
    and is prepared on its first call. A copy may tighten the schema (the
    host enforces what it says), add tags or metadata, or set an
    ``invoker(ctx, params)`` of its own, which then receives the validated
    parameters unconverted. The first non-``None`` answer wins; raising
    refuses the tool, withdrawing the plugin that registered it.

    :param tool: the prepared tool (frozen dataclass; use ``dataclasses.replace``).
    :returns: the changed tool, or ``None``.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def resolve_command(name: str, session_id: str, host: Host) -> Command | None:
    """Supply a command the registry does not have, for one session; ``None`` to pass.

    Called only when ``name`` is neither registered nor one of the session's
    local commands, so it costs nothing on the normal path. snakepit-tools
    uses it to fetch a session's Elixir tools on the first call that names
    one. Return a :class:`snakepit_host.Command` (or ``Tool``)
    whose ``name`` is ``name``; raise a
    :class:`snakepit_host.SnakepitError` to explain why it cannot be
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

    .. versionadded:: 2.0
    """


@hookspec
def stands_in_for() -> list[str] | None:
    """``--adapter`` specs this plugin serves in place of the adapter itself.

    When the host is started with one of them (Snakepit passes its workers'
    adapter class), nothing is imported: this plugin's commands serve the
    calls, and the listing shows the adapter as served by this plugin.
    snakepit-dspy stands in for DSPex's ``dspex_adapters.dspy_grpc.DSPyGRPCHandler``.

    :returns: adapter specs (``"package.module.Class"``), compared exactly; ``None`` for none.

    .. versionadded:: 2.0
    """


@hookspec
def host_started(host: Host) -> None:
    """The host is serving: registries are frozen, the port is bound.

    Called before the readiness signal is sent, so keep it short; start
    background work in a thread. May be ``async def``.

    :param host: the running :class:`snakepit_host.Host`.

    .. versionadded:: 1.0
    """


@hookspec
def host_stopping(host: Host) -> None:
    """The host is shutting down (SIGTERM, SIGINT, parent exit or heartbeat loss).

    In-flight calls are still finishing. Release resources quickly; the
    whole shutdown has a grace period of a few seconds. May be ``async def``.

    :param host: the stopping :class:`snakepit_host.Host`.

    .. versionadded:: 1.0
    """


@hookspec
def session_created(session: Session, host: Host) -> None:
    """A session was created (first use of its id, or InitializeSession: ``session.explicit``).

    Keep it short: callers may make a new session per call.

    :param session: the new :class:`snakepit_host.Session`.
    :param host: the running host.

    .. versionadded:: 1.0
    """


@hookspec
def session_closed(session: Session, reason: str, host: Host) -> None:
    """A session ended.

    :param session: the session; its state is still readable.
    :param reason: ``"cleanup"`` (CleanupSession), ``"expired"`` (TTL), ``"evicted"`` (the table was full:
        the least recently used idle session makes room) or ``"shutdown"``.
    :param host: the host.

    .. versionadded:: 1.0
    """


@hookspec
def register_options(register: OptionRegistrar) -> None:
    """Declare settings for ``snakepit-host serve``, typed and checked once at start-up.

    ``register.option(name, type=str|int|float|bool, default=..., env=...,
    choices=..., minimum=..., metavar=..., help=...)``. Each becomes the flag
    ``--<name with dashes>`` (shown by ``serve --help`` under "plugin
    <name>") with ``env`` as its fallback, so Snakepit can configure the
    plugin through ``adapter_args`` or the environment. Read the typed value
    with ``host.option(name)``. A value that does not convert, is not one of
    ``choices`` or is below ``minimum`` withdraws the plugin with that
    reason (fatal in strict mode). Prefix names with your plugin's name
    (``variables_store``) to avoid collisions.

    :param register: option registrar bound to this plugin.

    .. versionadded:: 2.0 (replaces ``add_arguments``)
    """


@hookspec(historic=True)
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add hook specifications of your own for other plugins to implement.

    Call ``plugin_manager.add_hookspecs(module_or_class)``. A spec made with
    :func:`registration_hookspec` is a registration hook the host runs for
    you, with the same isolation and listing as its own. Implementations
    of a plugin's hooks should be marked ``@hookimpl(optionalhook=True)`` so
    they do not fail when that plugin is not installed.

    :param plugin_manager: the host's pluggy manager.

    .. versionadded:: 1.0
    """


def registration_hookspec(kind: str) -> Callable[[F], F]:
    """Make a plugin's hook spec a registration hook for entries of ``kind`` (e.g. ``"variable_stores"``).

    The spec takes one argument, ``register`` (after ``self`` in a class). The host calls every
    implementation in ``build_registry``, after its own registration hooks,
    with an :class:`snakepit_host.EntryRegistrar` bound to the implementing
    plugin: ``register(name, value)``. Entries keep their owner, collide by
    name, are listed under ``provides`` as ``kind``, and are withdrawn with a
    plugin whose implementation raises (status ``error``). The declaring
    plugin reads them with ``host.registry.entries(kind)``.
    """
    if not isinstance(kind, str) or not kind.isidentifier() or not kind.islower():
        raise ValueError(f"registration hook kind {kind!r} must be a lower-case identifier such as 'variable_stores'")

    def declare(function: F) -> F:
        if [name for name in inspect.signature(function).parameters if name != "self"] != ["register"]:
            raise TypeError(f"registration hook {function.__name__} must take exactly one argument, 'register'")
        setattr(function, REGISTRATION_KIND_ATTRIBUTE, kind)
        return hookspec(function)

    return declare


def hook_names() -> list[str]:
    """Names of every hook specified here, in declaration order."""
    return [name for name, value in globals().items() if _is_spec(value)]


def _is_spec(value: Any) -> bool:
    return callable(value) and hasattr(value, f"{PROJECT}_spec")
