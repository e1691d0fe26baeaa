"""Owner-tracked registries of commands, tools, value types, RPCs, context attributes and plugin-defined kinds.

Plugins never touch a :class:`Registry` directly: each registration hook gets
a :class:`Registrar` bound to the calling plugin (an :class:`EntryRegistrar`
for a plugin-defined registration hook), so every entry records its owner.
Registering a name that another entry already holds with a different
target is a :class:`~snakepit_host._errors.RegistrationError` naming both
owners; registering the identical target again is a no-op. Nothing is
renamed and nothing silently wins.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from snakepit_host._bridge_methods import HOST_METHODS, service_methods
from snakepit_host._errors import FailedPrecondition, RegistrationError, SnakepitError
from snakepit_host._names import check_name
from snakepit_host._parameters import ParameterValidator, check_schema_shape

if TYPE_CHECKING:
    from snakepit_host._value_types import ValueType

# Handlers receive the call's snakepit_host._context.SessionContext. The registry only passes it
# through, and the context module sits above this one (it reaches the registry through the host),
# so the context is typed loosely here: importing its class would close an import circle.
SessionContext = Any
Handler = Callable[..., Any]
Invoker = Callable[[SessionContext, dict[str, Any]], Any]
F = TypeVar("F", bound=Callable[..., Any])
H = TypeVar("H", bound="Handler | str")

HOST_KINDS = frozenset(
    {"commands", "tools", "types", "rpcs", "session_attributes", "call_observers", "shadowed", "shadows"}
)
"""What the host lists of each plugin itself (what its registration hooks register, and the commands an
adapter took over); plugin-defined kinds take other names."""


class LazyTarget:
    """A ``"package.module:attribute"`` reference imported on first use.

    Lets a plugin register handlers without importing their module (and its
    heavy dependencies) at start-up. An import failure becomes an error on
    the call that needed it, naming the plugin.
    """

    def __init__(self, ref: str, owner: str) -> None:
        module, sep, attribute = ref.partition(":")
        if not sep or not module or not attribute:
            raise RegistrationError(f"lazy reference {ref!r} must look like 'package.module:attribute'")
        self.ref = ref
        self.owner = owner
        self._resolved: Any = None
        self._lock = threading.Lock()

    def resolve(self) -> Handler:
        """The referenced callable (a handler)."""
        target = self._load(instantiate=False)
        if not callable(target):
            raise SnakepitError(f"plugin '{self.owner}': {self.ref} is not callable")
        return target  # type: ignore[no-any-return]

    def resolve_instance(self) -> Any:
        """The referenced object; a class is instantiated once (as entry points and ``--adapter`` are)."""
        return self._load(instantiate=True)

    def _load(self, *, instantiate: bool) -> Any:
        if self._resolved is None:
            with self._lock:
                if self._resolved is None:
                    target = self._import()
                    if instantiate and inspect.isclass(target):
                        try:
                            target = target()
                        except Exception as exc:
                            raise SnakepitError(
                                f"plugin '{self.owner}' could not make {self.ref}: {type(exc).__name__}: {exc}"
                            ) from exc
                    self._resolved = target
        return self._resolved

    def _import(self) -> Any:
        module_name, _, attribute = self.ref.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
        except Exception as exc:  # any import-time failure belongs to the plugin
            raise SnakepitError(
                f"plugin '{self.owner}' could not load {self.ref}: {type(exc).__name__}: {exc}"
            ) from exc
        return target


def _handler_of(target: Handler | LazyTarget) -> Handler:
    """The callable a command, RPC or observer entry holds: itself, or the one its lazy reference names."""
    return target.resolve() if isinstance(target, LazyTarget) else target


def _same_target(a: object, b: object) -> bool:
    if isinstance(a, LazyTarget) and isinstance(b, LazyTarget):
        return a.ref == b.ref
    return a is b


@dataclass(frozen=True, eq=False, repr=False)
class Command:
    """A named operation callable through ExecuteTool as ``handler(ctx, params)``.

    ``parameters`` is the JSON schema the host enforces before the handler
    runs (see :mod:`snakepit_host._parameters`); ``None`` accepts anything.
    ``keep_routing``: the handler's ``params`` still hold the routing
    parameter ``session_id`` when the caller sent one (the schema is checked
    without it), for handlers whose convention includes it in their
    arguments, as Snakepit's adapters receive it.
    """

    name: str
    owner: str
    target: Handler | LazyTarget
    description: str = ""
    parameters: Mapping[str, Any] | None = None
    streaming: bool = False
    timeout: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    keep_routing: bool = False

    kind: ClassVar[str] = "command"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, owner={self.owner!r})"

    def handler(self) -> Handler:
        return _handler_of(self.target)

    def invoke(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        return self.handler()(ctx, params)

    @cached_property
    def validator(self) -> ParameterValidator:
        """This command's schema, compiled on first use (a replaced copy gets its own)."""
        return ParameterValidator(f"{self.kind} '{self.name}'", self.parameters)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "owner": self.owner,
            "description": self.description,
            "parameters": dict(self.parameters) if self.parameters is not None else None,
            "streaming": self.streaming,
            "timeout": self.timeout,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, eq=False, repr=False)
class Tool(Command):
    """A described callable, called with keyword arguments.

    The host prepares every registered Python tool at start-up
    (:func:`snakepit_host._tool_calls.prepare`): ``parameters`` becomes the
    schema it enforces (derived from the signature, or the explicit one
    completed) and ``invoker`` the host's :class:`~snakepit_host._tool_calls.ToolCall`,
    which converts the validated parameters as the hints ask and calls the
    function. A lazy tool gets a :class:`~snakepit_host._tool_calls.LazyToolCall`
    that imports its module and derives the schema on its first call; a tool
    made at call time (``resolve_command``) is prepared when it is looked up.
    Tools in another language (Elixir proxies) bring their own invoker and are
    checked by their own side, not by the host.
    """

    returns: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()
    language: str = "python"
    invoker: Invoker | None = None

    kind: ClassVar[str] = "tool"

    def invoke(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        invoker = self.invoker
        if invoker is None:  # the host prepares every tool it runs; a bare Tool is a bug in the caller
            raise FailedPrecondition(f"tool '{self.name}' was not prepared by the host")
        return invoker(ctx, params)

    @cached_property
    def validator(self) -> ParameterValidator:
        label = f"tool '{self.name}'"
        if self.language != "python":
            return ParameterValidator(label, None)  # Elixir checks the parameters of its own tools
        schema = self.parameters
        if getattr(self.invoker, "derives_schema", False):  # a lazy tool: known once its module is imported
            schema = self.invoker.schema  # type: ignore[union-attr]
        return ParameterValidator(label, schema)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            returns=dict(self.returns) if self.returns is not None else None,
            tags=list(self.tags),
            language=self.language,
        )
        return info


class _Entry:
    """A registered name, the plugin that registered it, and its target (a value, or a lazy reference to one).

    The entries are plain classes with slots: every worker start defines them, and
    defining a NamedTuple costs ~0.15-0.3 ms each (bench/bench_host.py prints the start-up timeline).
    """

    __slots__ = ("name", "owner", "target")

    def __init__(self, name: str, owner: str, target: Any) -> None:
        self.name = name
        self.owner = owner
        self.target = target


class TypeEntry(_Entry):
    __slots__ = ()
    target: ValueType | LazyTarget

    @property
    def value_type(self) -> ValueType:
        """The type; one registered as ``"module:attribute"`` is imported on first use."""
        target = self.target
        return target.resolve_instance() if isinstance(target, LazyTarget) else target


class RpcEntry(_Entry):
    """A BridgeService method (``name``) a plugin serves."""

    __slots__ = ()
    target: Handler | LazyTarget

    def handler(self) -> Handler:
        return _handler_of(self.target)


class AttributeEntry(_Entry):
    """A session attribute: ``factory(ctx)`` makes its value."""

    __slots__ = ()
    target: Callable[[SessionContext], Any]

    @property
    def factory(self) -> Callable[[SessionContext], Any]:
        return self.target


class ObserverEntry(_Entry):
    """A call observer factory: ``factory(host)`` gives the observer, or None when it is not enabled."""

    __slots__ = ()
    target: Handler | LazyTarget

    @property
    def factory(self) -> Handler:
        return _handler_of(self.target)


class RegistryEntry(_Entry):
    """One entry of a plugin-defined kind (e.g. a variable store): its name, owner and registered value."""

    __slots__ = ()

    @property
    def value(self) -> Any:
        return self.target

    def __repr__(self) -> str:
        return f"RegistryEntry(name={self.name!r}, owner={self.owner!r}, value={self.value!r})"


class Registry:
    """Everything the plugins registered, frozen once the host starts.

    One kind of owner may take a name another owner registered: an adapter
    (``--adapter``), whose commands answer the names Snakepit callers address
    to it. The command it hides is kept in :attr:`shadowed` and listed, so the
    clash is visible, never silent; between ordinary owners a clash is an error.
    """

    def __init__(self, reserved_attributes: Collection[str] = ()) -> None:
        self.commands: dict[str, Command] = {}
        self.types: dict[str, TypeEntry] = {}
        self.rpcs: dict[str, RpcEntry] = {}
        self.session_attributes: dict[str, AttributeEntry] = {}
        self.call_observers: dict[str, ObserverEntry] = {}
        self.shadowed: dict[str, Command] = {}
        """Commands hidden by an overriding owner's command of the same name, by name."""
        self.reserved_attributes = frozenset(reserved_attributes)
        """Names SessionContext defines itself, which no plugin may register as session attributes."""
        self._kinds: dict[str, dict[str, RegistryEntry]] = {}
        self.frozen = False
        self._overriding: set[str] = set()

    def registrar(self, owner: str, *, overrides: bool = False) -> Registrar:
        """A registrar for ``owner``; with ``overrides``, its commands win name clashes (an adapter)."""
        if overrides:
            self._overriding.add(owner)
        return Registrar(self, owner)

    def entry_registrar(self, kind: str, owner: str) -> EntryRegistrar:
        return EntryRegistrar(self, kind, owner)

    def entries(self, kind: str) -> Mapping[str, RegistryEntry]:
        """The entries of a plugin-defined kind by name (empty when nobody registered any)."""
        return MappingProxyType(self._kinds.get(kind, {}))

    def freeze(self) -> None:
        self.frozen = True

    def tools(self) -> list[Tool]:
        return [c for c in self.commands.values() if isinstance(c, Tool)]

    def replace_tool(self, tool: Tool) -> None:
        """Swap in the prepared version of a registered tool (before freezing)."""
        self._check_open()
        self.commands[tool.name] = tool

    def withdraw(self, owner: str) -> None:
        """Remove everything ``owner`` registered (its registration failed); what it hid comes back."""
        tables: list[dict[str, Any]] = [
            self.commands,
            self.types,
            self.rpcs,
            self.session_attributes,
            self.call_observers,
            self.shadowed,
        ]
        for table in [*tables, *self._kinds.values()]:
            for key in [k for k, entry in table.items() if entry.owner == owner]:
                del table[key]
        for name in [n for n in self.shadowed if n not in self.commands]:
            self.commands[name] = self.shadowed.pop(name)

    def provided_by(self, owner: str) -> dict[str, list[str]]:
        """What one plugin contributed, for listings (with the names an adapter took over, both ways)."""
        return {
            "commands": sorted(c.name for c in self.commands.values() if c.owner == owner and c.kind == "command"),
            "tools": sorted(c.name for c in self.commands.values() if c.owner == owner and c.kind == "tool"),
            "types": sorted(t.name for t in self.types.values() if t.owner == owner),
            "rpcs": sorted(r.name for r in self.rpcs.values() if r.owner == owner),
            "session_attributes": sorted(a.name for a in self.session_attributes.values() if a.owner == owner),
            "call_observers": sorted(o.name for o in self.call_observers.values() if o.owner == owner),
            "shadowed": sorted(
                f"{name} (by {self.commands[name].owner})" for name, c in self.shadowed.items() if c.owner == owner
            ),
            "shadows": sorted(
                f"{name} (of {c.owner})" for name, c in self.shadowed.items() if self.commands[name].owner == owner
            ),
            **{kind: sorted(n for n, e in table.items() if e.owner == owner) for kind, table in self._kinds.items()},
        }

    def _check_open(self) -> None:
        if self.frozen:
            raise RegistrationError("the registry is frozen: register from a register_* hook")

    def _add(self, table: dict[str, Any], kind: str, key: str, entry: Any, target: object) -> None:
        self._check_open()
        existing = table.get(key)
        if existing is None:
            table[key] = entry
            return
        if _same_target(existing.target, target):
            return
        if table is self.commands and (entry.owner in self._overriding) != (existing.owner in self._overriding):
            winner, loser = (entry, existing) if entry.owner in self._overriding else (existing, entry)
            self._shadow(key, loser)
            table[key] = winner
            return
        if existing.owner == entry.owner:
            raise RegistrationError(f"plugin '{entry.owner}' registered {kind} '{key}' twice with different targets")
        new_kind = getattr(entry, "kind", kind)
        old_kind = getattr(existing, "kind", kind)
        raise RegistrationError(
            f"{new_kind} '{key}' from plugin '{entry.owner}' collides with {old_kind} '{key}' "
            f"registered by plugin '{existing.owner}'"
        )

    def _shadow(self, key: str, loser: Command) -> None:
        hidden = self.shadowed.get(key)
        if hidden is not None and hidden.owner != loser.owner and not _same_target(hidden.target, loser.target):
            raise RegistrationError(
                f"{loser.kind} '{key}' from plugin '{loser.owner}' collides with {hidden.kind} '{key}' "
                f"registered by plugin '{hidden.owner}'"
            )
        self.shadowed[key] = loser

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands.values())


class Registrar:
    """Registration API handed to a plugin's ``register_*`` hooks.

    Every method records the plugin as owner. ``command`` and ``tool`` also
    work as decorators when the callable is omitted.
    """

    def __init__(self, registry: Registry, owner: str) -> None:
        self._registry = registry
        self.owner = owner

    def _target(self, handler: Handler | str) -> Handler | LazyTarget:
        if isinstance(handler, str):
            return LazyTarget(handler, self.owner)
        if not callable(handler):
            raise RegistrationError(f"plugin '{self.owner}': {handler!r} is not callable")
        return handler

    # The overloads type both forms (``command(name, handler)`` returns the handler,
    # ``@command(name)`` is a decorator), so a strictly typed plugin keeps its handlers' types.
    @overload
    def command(
        self,
        name: str,
        handler: None = None,
        *,
        description: str | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        streaming: bool | None = ...,
        timeout: float | None = ...,
        metadata: Mapping[str, str] | None = ...,
        keep_routing: bool = ...,
    ) -> Callable[[F], F]: ...

    @overload
    def command(
        self,
        name: str,
        handler: H,
        *,
        description: str | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        streaming: bool | None = ...,
        timeout: float | None = ...,
        metadata: Mapping[str, str] | None = ...,
        keep_routing: bool = ...,
    ) -> H: ...

    def command(
        self,
        name: str,
        handler: Handler | str | None = None,
        *,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        streaming: bool | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        keep_routing: bool = False,
    ) -> Any:
        """Register ``handler(ctx, params)`` under ``name``.

        ``streaming`` defaults to whether the handler is a (async) generator
        function; give it explicitly for lazy ``"module:attr"`` handlers.
        ``parameters`` is the JSON schema of ``params`` (draft 2020-12): the
        host enforces it before every call and ``describe`` shows it; without
        one, the handler receives whatever was sent. The routing parameter
        ``session_id`` (it chose the session) is removed from ``params``
        unless ``keep_routing`` is true; the schema never sees it.
        Returns the handler, or a decorator when ``handler`` is omitted.
        """
        if handler is None:

            def decorate(function: F) -> F:
                self.command(
                    name,
                    function,
                    description=description,
                    parameters=parameters,
                    streaming=streaming,
                    timeout=timeout,
                    metadata=metadata,
                    keep_routing=keep_routing,
                )
                return function

            return decorate
        self._add_command(
            Command,
            name,
            handler,
            description=description,
            parameters=parameters,
            streaming=streaming,
            timeout=timeout,
            metadata=metadata,
            keep_routing=bool(keep_routing),
        )
        return handler

    @overload
    def tool(
        self,
        function: None = None,
        *,
        name: str | None = ...,
        description: str | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        returns: Mapping[str, Any] | None = ...,
        streaming: bool | None = ...,
        tags: tuple[str, ...] | list[str] = ...,
        timeout: float | None = ...,
        metadata: Mapping[str, str] | None = ...,
    ) -> Callable[[F], F]: ...

    @overload
    def tool(
        self,
        function: H,
        *,
        name: str | None = ...,
        description: str | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        returns: Mapping[str, Any] | None = ...,
        streaming: bool | None = ...,
        tags: tuple[str, ...] | list[str] = ...,
        timeout: float | None = ...,
        metadata: Mapping[str, str] | None = ...,
    ) -> H: ...

    def tool(
        self,
        function: Handler | str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        returns: Mapping[str, Any] | None = None,
        streaming: bool | None = None,
        tags: tuple[str, ...] | list[str] = (),
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Any:
        """Register ``function`` as a tool called with keyword arguments.

        ``name`` defaults to the function's ``__name__`` and ``description``
        to the first paragraph of its docstring. ``parameters`` replaces the
        schema derived from the signature; the host completes it with what
        the signature requires (see :func:`snakepit_host._tool_calls.completed_schema`).
        Options left out here are
        taken from the function's ``__snakepit_tool__`` mapping when it has
        one (decorators such as snakepit-tools' ``@tool`` set it), so a
        decorated function keeps its declared name, tags and timeout.
        Returns the function, or a decorator when it is omitted.
        """
        if function is None:

            def decorate(inner: F) -> F:
                self.tool(
                    inner,
                    name=name,
                    description=description,
                    parameters=parameters,
                    returns=returns,
                    streaming=streaming,
                    tags=tags,
                    timeout=timeout,
                    metadata=metadata,
                )
                return inner

            return decorate
        declared = declared_tool_options(function)
        name = name if name is not None else declared.get("name")
        description = description if description is not None else declared.get("description")
        parameters = parameters if parameters is not None else declared.get("parameters")
        returns = returns if returns is not None else declared.get("returns")
        streaming = streaming if streaming is not None else declared.get("streaming")
        tags = tags or declared.get("tags", ())
        timeout = timeout if timeout is not None else declared.get("timeout")
        metadata = metadata if metadata is not None else declared.get("metadata")
        if name is None:
            if isinstance(function, str):
                raise RegistrationError(f"plugin '{self.owner}': a lazy tool needs name=")
            name = getattr(function, "__name__", None) or ""
        self._add_command(
            Tool,
            name,
            function,
            description=description,
            parameters=parameters,
            streaming=streaming,
            timeout=timeout,
            metadata=metadata,
            returns=returns,
            tags=tuple(tags),
        )
        return function

    def _add_command(
        self,
        cls: type[Command],
        name: str,
        handler: Handler | str,
        *,
        description: str | None,
        parameters: Mapping[str, Any] | None,
        streaming: bool | None,
        timeout: float | None,
        metadata: Mapping[str, str] | None,
        **extra: Any,
    ) -> None:
        """Check and add a command or tool (``cls``), filling what was left out from the handler itself.

        Tools and commands share one table and one set of checks; ``extra`` holds
        what only ``cls`` has (a tool's ``returns`` and ``tags``, a command's ``keep_routing``).
        """
        check_name(cls.kind, name)
        if parameters is not None:
            check_schema_shape(f"{cls.kind} '{name}'", parameters)
        target = self._target(handler)
        entry = cls(
            name=name,
            owner=self.owner,
            target=target,
            description=description if description is not None else _summary(handler),
            parameters=parameters,
            streaming=_is_streaming(handler) if streaming is None else streaming,
            timeout=_check_timeout(timeout),
            metadata=dict(metadata or {}),
            **extra,
        )
        self._registry._add(self._registry.commands, "command", name, entry, target)

    def type(self, name: str, value_type: ValueType | str) -> None:
        """Register a value type under ``name`` (see :mod:`snakepit_host._value_types`).

        ``value_type`` may be ``"package.module:attribute"`` (an instance, or a
        class instantiated once): the module is then imported when the type is
        first used, not at every worker start.
        """
        if not isinstance(name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_.\-]*$", name):
            raise RegistrationError(f"type name {name!r} must start with a letter")
        target = LazyTarget(value_type, self.owner) if isinstance(value_type, str) else value_type
        entry = TypeEntry(name=name, owner=self.owner, target=target)
        self._registry._add(self._registry.types, "type", name, entry, target)

    def rpc(self, method: str, handler: Handler | str) -> None:
        """Serve the BridgeService ``method`` with ``handler(request, call)``."""
        if method in HOST_METHODS:
            raise RegistrationError(f"plugin '{self.owner}': {method} is answered by the host itself")
        if method not in service_methods():
            raise RegistrationError(f"plugin '{self.owner}': {method!r} is not a BridgeService method")
        target = self._target(handler)
        entry = RpcEntry(name=method, owner=self.owner, target=target)
        self._registry._add(self._registry.rpcs, "rpc", method, entry, target)

    def session_attribute(self, name: str, factory: Callable[[SessionContext], Any]) -> None:
        """Make ``ctx.<name>`` return ``factory(ctx)`` (created once per call)."""
        reserved = name in self._registry.reserved_attributes
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or reserved:
            raise RegistrationError(
                f"plugin '{self.owner}': {name!r} cannot be a session attribute "
                "(it must be a public identifier not already defined by SessionContext)"
            )
        if not callable(factory):
            raise RegistrationError(f"plugin '{self.owner}': factory for {name!r} is not callable")
        entry = AttributeEntry(name=name, owner=self.owner, target=factory)
        self._registry._add(self._registry.session_attributes, "session attribute", name, entry, factory)

    def call_observer(self, name: str, factory: Handler | str) -> None:
        """Make ``factory(host)`` (or a lazy ``"module:attr"``) the call observer ``name``.

        The host calls the factory once as it starts serving; it returns a
        :class:`snakepit_host.CallObserver` or ``None`` (not enabled, e.g. by an
        option), so a disabled observer costs the call path nothing.
        """
        check_name("call observer", name)
        target = self._target(factory)
        entry = ObserverEntry(name=name, owner=self.owner, target=target)
        self._registry._add(self._registry.call_observers, "call observer", name, entry, target)


class EntryRegistrar:
    """What a plugin-defined registration hook receives: ``register(name, value)``, bound to one plugin.

    The entries land in ``host.registry.entries(kind)`` with their owner, are
    listed under ``provides`` as ``kind``, collide by name like commands do,
    and are withdrawn with a plugin that fails.
    """

    def __init__(self, registry: Registry, kind: str, owner: str) -> None:
        self._registry = registry
        self.kind = kind
        self.owner = owner

    def __call__(self, name: str, value: Any) -> None:
        """Register ``value`` under ``name`` (a name as for commands: letters, digits, ``_``, ``-``, ``.``)."""
        check_name(self.kind, name)
        entry = RegistryEntry(name=name, owner=self.owner, target=value)
        self._registry._add(self._registry._kinds.setdefault(self.kind, {}), self.kind, name, entry, value)


TOOL_OPTIONS_ATTRIBUTE = "__snakepit_tool__"
"""Attribute holding a function's declared tool options (defaults for :meth:`Registrar.tool`)."""


def declared_tool_options(function: object) -> Mapping[str, Any]:
    """The registration options a function declares through ``__snakepit_tool__`` (empty if none)."""
    if isinstance(function, str):
        return {}
    declared = getattr(function, TOOL_OPTIONS_ATTRIBUTE, None)
    return declared if isinstance(declared, Mapping) else {}


def _is_streaming(handler: object) -> bool:
    return inspect.isgeneratorfunction(handler) or inspect.isasyncgenfunction(handler)


def _summary(handler: object) -> str:
    """First paragraph of the docstring, on one line."""
    doc = inspect.getdoc(handler) if not isinstance(handler, str) else None
    if not doc:
        return ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0):
        raise RegistrationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout) if timeout is not None else None
