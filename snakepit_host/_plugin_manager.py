"""Plugin discovery, isolation and listing.

Built-ins are plugins like any other (listed, and blockable unless
essential). External plugins come from the ``snakepit`` entry-point group,
sorted by name for a deterministic order. Each plugin is imported,
registered and asked to register its items inside its own ``try``: a plugin
that fails is withdrawn and recorded with one line saying why, and the host
serves the rest. Strict mode turns any such failure into
:class:`PluginLoadError`.

Every hook is called through pluggy, one plugin at a time: each plugin gets
a cached subset hook caller holding only its own implementation, so pluggy's
tracing and monitoring see every call while a failure stays that plugin's.
The order of plugins within a hook is described in :mod:`snakepit_host.hookspecs`.

Allow and deny lists are applied *before* a plugin is imported, and so is the
check of the plugin's declared ``snakepit-host`` requirement.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import logging
import os
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from snakepit_host import hookspecs
from snakepit_host._context import SessionContext
from snakepit_host._entry_points import EntryPoint, normalize, requirement_for, scan, version_matches
from snakepit_host._errors import RegistrationError, describe_exception
from snakepit_host._options import OptionTable
from snakepit_host._registry import HOST_KINDS, Command, Registrar, Registry, Tool
from snakepit_host._version import __version__

if TYPE_CHECKING:
    from snakepit_host._async_loop import BackgroundLoop
    from snakepit_host._host_api import Host

log = logging.getLogger("snakepit_host.plugins")

ENTRY_POINT_GROUP = "snakepit"
HOST_DISTRIBUTION = "snakepit-host"
BUILTIN_PLUGINS: tuple[tuple[str, str, bool], ...] = (
    # (name, module, essential)
    ("core", "snakepit_host._core_plugin", True),
)
REGISTRATION_HOOKS = (
    "register_types",
    "register_commands",
    "register_tools",
    "register_rpcs",
    "register_session_attributes",
    "register_call_observers",
)
LIFECYCLE_HOOKS = frozenset({"host_started", "host_stopping", "session_created", "session_closed"})
"""The hooks the host awaits: the only ones that may be ``async def``."""
ADAPTER_NAME = "adapter"
"""What ``--disable-plugin`` calls whatever ``--adapter`` names (its record is named after the class)."""
SLOW_PLUGIN_MS = 100.0
HOST_HOOKS = frozenset(hookspecs.hook_names())


class PluginLoadError(Exception):
    """Strict mode: a plugin failed to load. The message names it and the reason."""


class PluginRecord:
    """Everything the host knows about one plugin, loaded or not.

    A plain class, not a dataclass: every worker start defines it, and
    generating a dataclass's methods costs ~0.7 ms; ``as_dict()`` is the
    representation.
    """

    def __init__(
        self,
        name: str,
        module: str,
        *,
        status: str = "pending",
        distribution: str | None = None,
        version: str | None = None,
        builtin: bool = False,
        essential: bool = False,
        kind: str = "plugin",
        note: str | None = None,
        served_by: str | None = None,
    ) -> None:
        self.name = name
        self.module = module
        self.status = status  # loaded | error | disabled | incompatible
        self.distribution = distribution
        self.version = version
        self.builtin = builtin
        self.essential = essential
        self.kind = kind  # plugin | adapter (a Snakepit adapter named by --adapter: served, or stood in for)
        self.note = note
        """Something the listing should say besides status and error (who serves an adapter, how)."""
        self.served_by = served_by
        """The plugin serving this adapter (``serve_adapter`` or ``stands_in_for``): the adapter fails with it."""
        self.error: str | None = None
        self.requirement: str | None = None
        self.hooks: list[str] = []
        self.provides: dict[str, list[str]] = {}
        self.load_ms = 0.0
        self.registration_ms = 0.0
        """The part of ``load_ms`` spent in registration hooks (the start-up timeline shows it)."""
        self.runtime_errors: list[str] = []
        self.registration_kinds: dict[str, str] = {}
        """Registration hooks this plugin declared (``registration_hookspec``): hook name -> kind."""
        self.problem: str | None = None
        """Why a loaded plugin cannot do its job right now (``Host.report_problem``); listed as ``error`` meanwhile."""

    def as_dict(self) -> dict[str, Any]:
        troubled = self.status == "loaded" and self.problem is not None
        return {
            "name": self.name,
            "kind": self.kind,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": "error" if troubled else self.status,
            "note": self.note,
            "served_by": self.served_by,
            "builtin": self.builtin,
            "error": self.problem if troubled else self.error,
            "requirement": self.requirement,
            "hooks": list(self.hooks),
            "provides": {k: list(v) for k, v in self.provides.items() if v},
            "load_ms": round(self.load_ms, 2),
            "runtime_errors": list(self.runtime_errors),
        }


def parse_name_list(value: str | None) -> list[str] | None:
    """``None`` stays None (no list); ``''`` is an empty list; ``'a, b'`` -> ['a', 'b']."""
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


class _HookManager(pluggy.PluginManager):
    """pluggy's manager, with its look at each attribute of a module made cheap.

    pluggy inspects every attribute of a plugin or spec namespace (with
    ``inspect.getattr_static`` since 1.7: microseconds each; a plugin module has
    dozens, mostly imports and constants, and every worker start pays for them). A
    module's attributes are plain values: one that is not a function, method,
    static or class method, or a function without the marker, cannot be a hook,
    and is skipped here; pluggy judges the rest as it always does.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if isinstance(plugin, types.ModuleType) and not _may_be_hook(vars(plugin).get(name), self._impl_marker):
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: types.ModuleType | type, name: str) -> pluggy.HookspecOpts | None:
        if isinstance(module_or_class, types.ModuleType) and not _may_be_hook(
            vars(module_or_class).get(name), self._spec_marker
        ):
            return None
        return super().parse_hookspec_opts(module_or_class, name)

    @functools.cached_property
    def _impl_marker(self) -> str:
        return f"{self.project_name}_impl"

    @functools.cached_property
    def _spec_marker(self) -> str:
        return f"{self.project_name}_spec"


def _may_be_hook(value: object, marker: str) -> bool:
    if isinstance(value, types.FunctionType):
        return hasattr(value, marker)
    return isinstance(value, (types.MethodType, staticmethod, classmethod))


class PluginManager:
    """The host's pluggy manager plus records, filtering and isolation."""

    def __init__(
        self,
        *,
        allow: list[str] | None = None,
        deny: Iterable[str] = (),
        strict: bool = False,
        log_failures: bool = True,
    ) -> None:
        self.pm = _HookManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.pm.hook.add_hookspecs.call_historic(kwargs={"plugin_manager": self.pm})
        self.records: dict[str, PluginRecord] = {}
        self.allow = None if allow is None else {normalize(n) for n in allow}
        self.deny = {normalize(n) for n in deny}
        self.strict = strict
        self.log_failures = log_failures
        """Log each failure at ``error``; a command that shows the listing itself (``plugins``) turns it off."""
        self.options = OptionTable()
        """Options the plugins declared (``register_options``) and, once resolved, their values."""
        self._options_declared = False
        self.loads_entry_points = False
        """Whether installed plugins were looked for (``serve`` does; a test's host may not)."""
        self.discovery_ms = 0.0
        """How long finding the installed plugins took (the start-up timeline shows it)."""
        self._callers: dict[str, list[tuple[PluginRecord, pluggy.HookCaller]]] = {}

    # ------------------------------------------------------------ loading

    def _selected(self, record: PluginRecord) -> bool:
        names = {normalize(record.name)}
        if record.distribution:
            names.add(normalize(record.distribution))
        if record.essential:
            return True
        if record.kind == "adapter":  # named on the command line (--adapter): that is its allow list
            return not (names | {ADAPTER_NAME}) & self.deny
        if names & self.deny:
            return False
        if self.allow is not None and not record.builtin:
            return bool(names & self.allow)
        return True

    def load_builtins(self) -> None:
        for name, module, essential in BUILTIN_PLUGINS:
            record = PluginRecord(
                name=name,
                module=module,
                builtin=True,
                essential=essential,
                distribution=HOST_DISTRIBUTION,
                version=__version__,
            )
            self._load(record, functools.partial(importlib.import_module, module))

    def load_entry_points(self, paths: list[str] | None = None) -> None:
        """Discover, filter, version-check and load every ``snakepit`` entry point."""
        self.loads_entry_points = True
        started = time.perf_counter()
        found = scan(ENTRY_POINT_GROUP, paths)
        self.discovery_ms = (time.perf_counter() - started) * 1000
        for ep in sorted(found, key=lambda e: (e.name, e.distribution)):
            record = PluginRecord(name=ep.name, module=ep.value, distribution=ep.distribution, version=ep.version)
            if ep.name in self.records:
                other = self.records[ep.name]
                record.status = "error"
                record.error = (
                    f"plugin name '{ep.name}' is already used by distribution '{other.distribution}' ({other.module})"
                )
                self._record_failure(record, key=f"{ep.name} ({ep.distribution})")
                continue
            self._load(record, functools.partial(_load_entry_point, ep), entry_point=ep)

    def load_adapter(self, spec: str) -> PluginRecord:
        """``--adapter SPEC`` (``pkg.mod.Class``, ``pkg.mod:attr`` or a module), after the other plugins.

        Resolved in this order, and recorded under a name of its own (the
        class name) either way:

        1. a loaded plugin declares it stands in for ``spec`` (``stands_in_for``):
           that plugin serves it, nothing is imported;
        2. a loaded plugin serves it (``serve_adapter``, e.g. snakepit-adapters for
           Snakepit's own adapter classes): the object it returns is registered as
           the adapter's plugin, and its commands win name clashes (shown as shadowed);
        3. otherwise ``spec`` must be a host plugin (``@hookimpl`` functions).

        Before anything is imported, the host's protocol modules stand in for
        Snakepit's generated ``snakepit_bridge_pb2`` (the two cannot both load).

        An adapter that cannot be imported or served is an error like any
        plugin's (fatal in strict mode).
        """
        name = spec.replace(":", ".").rsplit(".", 1)[-1] or spec
        if name in self.records:
            name = spec
        stand_in = self._stand_in_for(spec)
        if stand_in is not None:
            record = PluginRecord(
                name=name,
                module=spec,
                kind="adapter",
                status="loaded",
                distribution=stand_in.distribution,
                version=stand_in.version,
                note=f"served by plugin '{stand_in.name}', which stands in for it",
                served_by=stand_in.name,
            )
            self.records[name] = record
            log.info("adapter %s is served by plugin %s, which stands in for it", spec, stand_in.name)
            return record
        record = PluginRecord(name=name, module=spec, kind="adapter")
        self._load(record, functools.partial(self._adapter_plugin, spec, record))
        return record

    def _stand_in_for(self, spec: str) -> PluginRecord | None:
        for record, caller in self._impls("stands_in_for"):
            try:
                answers: list[Any] = caller()
                specs = answers[0] if answers else []
                if isinstance(specs, str) or not all(isinstance(s, str) for s in specs):
                    raise TypeError(f"returned {specs!r}, not a list of adapter specs")
            except Exception as exc:
                self._fail(record, f"stands_in_for failed: {_one_line(exc)}")
                continue
            if spec in specs:
                return record
        return None

    def _adapter_plugin(self, spec: str, adapter: PluginRecord) -> object:
        """The plugin object for an adapter: from a ``serve_adapter`` plugin, else ``spec`` itself."""
        from snakepit_host.proto import answer_snakepit_imports

        answer_snakepit_imports()  # whatever it is, it may import Snakepit's snakepit_bridge
        servers = self._impls("serve_adapter")
        for record, caller in servers:
            served = caller(spec=spec)  # firstresult: this plugin's answer, or None
            if served is not None:
                log.info("adapter %s is served by plugin %s", spec, record.name)
                note = getattr(served, "note", None)
                adapter.note = f"served by plugin '{record.name}'" + (f": {note}" if note else "")
                adapter.served_by = record.name
                return served
        target = _import_adapter(spec)
        if not _has_hookimpls(target):
            hint = (
                "no loaded plugin serves it as an adapter (snakepit-adapters serves Snakepit's adapter classes: "
                "install it, and name it in --plugins if you give an allow list)"
                if not servers
                else f"plugin(s) {', '.join(r.name for r, _ in servers)} did not take it"
            )
            raise RegistrationError(f"{spec} is not a host plugin (no @hookimpl functions) and {hint}")
        adapter.kind = "plugin"  # a host plugin named on the command line: ordinary name rules
        return target() if inspect.isclass(target) else target

    def check_names(self, named: Iterable[tuple[str, str]]) -> None:
        """Each (name, where it was given) of the allow and deny lists must name a plugin known here.

        Known are the built-ins, ``adapter``, and every entry-point and
        distribution name the scan found (selected or not). An unknown name,
        usually a typo, is a failure like a broken plugin's: a record with
        status ``error`` saying so and naming the closest known names, logged,
        and fatal in strict mode. Call it once every plugin source is loaded.
        """
        from snakepit_host._names import did_you_mean

        plugins = sorted({r.name for r in self.records.values()})
        known = plugins + sorted({r.distribution for r in self.records.values() if r.distribution})
        normalized = {normalize(name) for name in [*known, ADAPTER_NAME]}
        for name, where in named:
            if normalize(name) in normalized or name in self.records:
                continue
            record = PluginRecord(name=name, module="", status="error")
            record.error = (
                f"{where} names '{name}', but no plugin here has that name{did_you_mean(name, known)} "
                f"(plugins: {', '.join(plugins)})"
            )
            self.records[name] = record
            self._report(record.error)

    def add(self, plugin: object, name: str, *, module: str | None = None) -> PluginRecord:
        """Register an object or module directly (the testing kit)."""
        record = PluginRecord(name=name, module=module or _describe_object(plugin))
        self._load(record, lambda: plugin() if inspect.isclass(plugin) else plugin)
        return record

    def _load(
        self,
        record: PluginRecord,
        loader: Callable[[], object],
        entry_point: EntryPoint | None = None,
    ) -> None:
        self.records[record.name] = record
        if not self._selected(record):
            record.status = "disabled"
            return
        if entry_point is not None:
            requirement = requirement_for(entry_point.requirements(), HOST_DISTRIBUTION)
            record.requirement = requirement
            if requirement and not version_matches(requirement, __version__):
                record.status = "incompatible"
                record.error = f"requires {HOST_DISTRIBUTION} {requirement}, this host is {__version__}"
                self._record_failure(record)  # never imported; fatal in strict mode like any failure
                return
        started = time.perf_counter()
        try:
            plugin = loader()
            specified = self._specified_hooks()
            self._registered()
            self.pm.register(plugin, name=record.name)
            record.hooks = sorted(hc.name for hc in self.pm.get_hookcallers(plugin) or ())
            if not record.hooks:
                raise RegistrationError("implements no snakepit hooks (did you forget @hookimpl?)")
            self._declare_registration_kinds(record, self._specified_hooks() - specified)
            for hook_name in record.hooks:
                if hook_name in HOST_HOOKS:
                    _check_form(hook_name, self._impl_of(hook_name, record.name))
            record.status = "loaded"
        except Exception as exc:
            self._fail(record, _one_line(exc))
        finally:
            record.load_ms = (time.perf_counter() - started) * 1000
        if record.load_ms > SLOW_PLUGIN_MS:
            log.warning("plugin %s took %.0f ms to import; keep heavy imports lazy", record.name, record.load_ms)

    def _specified_hooks(self) -> set[str]:
        return {name for name, caller in vars(self.pm.hook).items() if caller.has_spec()}

    def _registered(self) -> None:
        """The set of plugins changes: per-plugin callers and declared options are recomputed on next use."""
        self._callers.clear()
        self._options_declared = False

    def _impl_of(self, hook_name: str, plugin_name: str) -> pluggy.HookImpl:
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        return next(impl for impl in caller.get_hookimpls() if impl.plugin_name == plugin_name)

    def _declare_registration_kinds(self, record: PluginRecord, new_specs: set[str]) -> None:
        """Note the registration hooks among the specs a plugin just added; a kind must be new."""
        taken = {kind: r.name for r in self.loaded() for kind in r.registration_kinds.values()}
        for hook_name in sorted(new_specs):
            spec = getattr(self.pm.hook, hook_name).spec
            kind = getattr(spec.function, hookspecs.REGISTRATION_KIND_ATTRIBUTE, None) if spec else None
            if kind is None:
                continue
            if kind in HOST_KINDS or kind in taken:
                owner = "the host" if kind in HOST_KINDS else f"plugin '{taken[kind]}'"
                raise RegistrationError(f"registration hook {hook_name} declares kind '{kind}', taken by {owner}")
            record.registration_kinds[hook_name] = kind
            taken[kind] = record.name

    def _fail(self, record: PluginRecord, reason: str) -> None:
        record.status = "error"
        record.error = reason
        self.options.withdraw(record.name)
        if self.pm.get_plugin(record.name) is not None:
            self._registered()
            self.pm.unregister(name=record.name)
        self._record_failure(record)

    def _record_failure(self, record: PluginRecord, key: str | None = None) -> None:
        if key is not None:
            self.records[key] = record
        where = f" (distribution {record.distribution})" if record.distribution else ""
        self._report(f"plugin {record.name}{where} failed: {record.error}")

    def _report(self, message: str) -> None:
        if self.strict:
            raise PluginLoadError(message)
        if self.log_failures:
            log.error("%s; the host continues without it", message)

    def _check_unknown_hooks(self) -> None:
        for hook_name, caller in list(vars(self.pm.hook).items()):
            if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if impl.optionalhook:
                    continue
                record = self.records.get(impl.plugin_name)
                if record is not None and record.status == "loaded":
                    self._fail(
                        record,
                        f"implements unknown hook '{hook_name}' (a typo, or a hook of a plugin that is "
                        "not installed: mark it @hookimpl(optionalhook=True))",
                    )

    # ------------------------------------------------------------ registration

    def loaded(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.status == "loaded"]

    def _impls(self, hook_name: str) -> list[tuple[PluginRecord, pluggy.HookCaller]]:
        """Each loaded plugin implementing a hook, in call order, with a hook caller for it alone (cached)."""
        callers = self._callers.get(hook_name)
        if callers is None:
            callers = self._callers[hook_name] = self._plugin_callers(hook_name)
        return callers

    def _plugin_callers(self, hook_name: str) -> list[tuple[PluginRecord, pluggy.HookCaller]]:
        caller = getattr(self.pm.hook, hook_name, None)
        impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()} if caller is not None else {}
        position = {name: index for index, name in enumerate(self.records)}
        implementers = sorted(
            (r for r in self.loaded() if r.name in impls),
            key=lambda r: (not r.builtin, _rank(impls[r.name]), position[r.name]),
        )
        plugins = [impl.plugin for impl in impls.values()]
        return [
            (r, self.pm.subset_hook_caller(hook_name, [p for p in plugins if p is not impls[r.name].plugin]))
            for r in implementers
        ]

    def build_registry(self, options: Mapping[str, Any] | None = None) -> Registry:
        """Resolve options, run every registration hook plugin by plugin, prepare tools, and freeze.

        ``options`` are the option values given on the command line or by a
        test, by name; the others come from their environment variable or
        their default.
        """
        self._check_unknown_hooks()
        self._resolve_options(options or {})
        registry = Registry(reserved_attributes=SessionContext.reserved_attributes())
        for hook_name in REGISTRATION_HOOKS:
            self._register(registry, hook_name, self._registrar_for(registry))
        for hook_name, kind in self._declared_registration_hooks():
            self._register(registry, hook_name, functools.partial(registry.entry_registrar, kind))
        self._prepare_tools(registry)
        self._fail_unserved_adapters(registry)
        for record in self.records.values():
            record.provides = registry.provided_by(record.name) if record.status == "loaded" else {}
        registry.freeze()
        return registry

    def _registrar_for(self, registry: Registry) -> Callable[[str], Registrar]:
        """Registrars for the host's registration hooks; an adapter's commands win name clashes."""
        return lambda owner: registry.registrar(owner, overrides=self.records[owner].kind == "adapter")

    def _register(self, registry: Registry, hook_name: str, registrar_for: Callable[[str], Any]) -> None:
        for record, caller in self._impls(hook_name):
            if record.status != "loaded":
                continue
            started = time.perf_counter()
            try:
                caller(register=registrar_for(record.name))
            except Exception as exc:
                registry.withdraw(record.name)
                self._fail(record, f"{hook_name} failed: {_one_line(exc)}")
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                record.load_ms += elapsed
                record.registration_ms += elapsed

    def _fail_unserved_adapters(self, registry: Registry) -> None:
        """An adapter whose serving plugin failed since (a bad option, say) is not served either."""
        for record in self.loaded():
            server = self.records.get(record.served_by) if record.served_by else None
            if server is not None and server.status != "loaded":
                registry.withdraw(record.name)
                self._fail(record, f"plugin '{server.name}', which serves it, failed: {server.error}")

    def _declared_registration_hooks(self) -> list[tuple[str, str]]:
        """(hook, kind) of the registration hooks loaded plugins declared; their implementations' forms checked."""
        declared = [item for record in self.loaded() for item in record.registration_kinds.items()]
        for hook_name, _ in declared:
            for record, _caller in self._impls(hook_name):
                try:
                    _check_form(hook_name, self._impl_of(hook_name, record.name), lifecycle=False)
                except RegistrationError as exc:
                    self._fail(record, _one_line(exc))
        return declared

    def _prepare_tools(self, registry: Registry) -> None:
        """The host prepares every tool (schema from its hints, its invoker), then ``prepare_tool`` plugins may."""
        tools = registry.tools()
        if not tools:
            return
        from snakepit_host._tool_calls import prepare

        preparers = self._impls("prepare_tool")
        for registered in tools:
            owner = self.records[registered.owner]
            if owner.status != "loaded":
                continue
            try:
                tool = prepare(registered)
            except Exception as exc:  # the tool is at fault (e.g. a hint no schema can express)
                registry.withdraw(owner.name)
                self._fail(owner, _one_line(exc))
                continue
            registry.replace_tool(tool)
            for preparer, impl in preparers:
                if preparer.status != "loaded" or self.records[tool.owner].status != "loaded":
                    continue
                try:
                    prepared = impl(tool=tool)
                except Exception as exc:  # the preparer refused the tool
                    registry.withdraw(owner.name)
                    self._fail(
                        owner,
                        f"tool '{tool.name}' was refused by plugin '{preparer.name}': {_one_line(exc)}",
                    )
                    break
                if prepared is None:
                    continue
                if not isinstance(prepared, Tool) or prepared.name != tool.name:
                    registry.withdraw(preparer.name)  # the preparer is at fault
                    self._fail(
                        preparer,
                        f"prepare_tool returned {type(prepared).__name__} for tool '{tool.name}', "
                        "not a Tool of that name",
                    )
                    continue
                registry.replace_tool(prepared)
                break

    # ------------------------------------------------------------ options

    def declare_options(self) -> OptionTable:
        """Ask every plugin's ``register_options`` (once per set of plugins); a failing plugin is withdrawn."""
        if not self._options_declared:
            self._options_declared = True
            for record, caller in self._impls("register_options"):
                if record.status != "loaded" or self.options.owned_by(record.name):
                    continue
                try:
                    caller(register=self.options.registrar(record.name))
                except Exception as exc:
                    self._fail(record, f"register_options failed: {_one_line(exc)}")
        return self.options

    def add_options(self, parser: argparse.ArgumentParser) -> list[str]:
        """Add each plugin's options to ``serve``, in a group named after it; returns the option names."""
        names: list[str] = []
        for record in self.loaded():
            specs = self.declare_options().owned_by(record.name)
            if not specs:
                continue
            group = parser.add_argument_group(f"plugin {record.name}")
            try:
                for spec in specs:
                    shape: dict[str, Any] = {"action": "store_true"} if spec.type is bool else {"metavar": spec.metavar}
                    group.add_argument(spec.flag, dest=spec.name, default=None, help=spec.help_text(), **shape)
                    names.append(spec.name)
            except argparse.ArgumentError as exc:
                names = [n for n in names if n not in {s.name for s in specs}]
                self._fail(record, f"option {spec.flag} cannot be added to serve: {exc.message}")
        return names

    def _resolve_options(self, given: Mapping[str, Any]) -> None:
        """Convert and check every declared option once; a bad value is its plugin's error."""
        table = self.declare_options()
        unknown = sorted(set(given) - set(table.specs))
        if unknown:
            known = ", ".join(sorted(table.specs)) or "none"
            raise RegistrationError(f"unknown plugin option(s) {', '.join(unknown)} (declared: {known})")
        for spec in list(table.specs.values()):
            if spec.name not in table.specs:  # its plugin failed on an earlier option
                continue
            try:
                table.values[spec.name] = spec.resolve(given.get(spec.name), os.environ)
            except ValueError as exc:
                self._fail(self.records[spec.owner], str(exc))

    # ------------------------------------------------------------ lifecycle

    def call_lifecycle(
        self, hook_name: str, loop: BackgroundLoop, timeout: float = 10.0, *, bounded: bool = False, **kwargs: Any
    ) -> None:
        """Call a lifecycle hook on every plugin; a failing plugin is logged, not fatal.

        ``async def`` implementations get ``timeout`` seconds. With ``bounded``
        (shutdown), synchronous ones get it too: each runs in a helper thread
        that is abandoned if it does not return, so one stuck plugin cannot
        keep the worker alive past Snakepit's kill deadline.
        """
        assert hook_name in LIFECYCLE_HOOKS, hook_name
        for record, caller in self._impls(hook_name):
            try:
                results = _call_bounded(caller, kwargs, timeout) if bounded else caller(**kwargs)
                if results and inspect.isawaitable(results[0]):
                    loop.run(results[0], timeout)
            except Exception as exc:
                message = f"{hook_name} failed: {_one_line(exc)}"
                record.runtime_errors.append(message)
                del record.runtime_errors[:-20]
                log.error("plugin %s: %s", record.name, message, exc_info=log.isEnabledFor(logging.DEBUG))

    def resolve_command(self, name: str, session_id: str, host: Host) -> tuple[Command | None, list[str]]:
        """Ask ``resolve_command`` implementations for an unregistered name.

        Returns the first command found, and what the plugins that could not
        answer said (for the caller's error message).
        """
        notes: list[str] = []
        for record, caller in self._impls("resolve_command"):
            try:
                command = caller(name=name, session_id=session_id, host=host)
            except Exception as exc:
                notes.append(f"plugin '{record.name}' could not look it up: {describe_exception(exc)}")
                continue
            if command is None:
                continue
            if not isinstance(command, Command) or command.name != name:
                notes.append(
                    f"plugin '{record.name}' answered with {type(command).__name__}, not a command named {name!r}"
                )
                continue
            return command, notes
        return None, notes

    def has_impls(self, hook_name: str) -> bool:
        return bool(self._impls(hook_name))

    def report_problem(self, plugin: str, problem: str | None) -> None:
        """See :meth:`snakepit_host.Host.report_problem`; an unknown plugin name is ignored (it has no listing)."""
        record = self.records.get(plugin)
        if record is not None:
            record.problem = problem

    def listing(self) -> list[dict[str, Any]]:
        return [record.as_dict() for record in self.records.values()]


def _rank(impl: pluggy.HookImpl) -> int:
    return 0 if impl.tryfirst else 2 if impl.trylast else 1


def _check_form(hook_name: str, impl: pluggy.HookImpl, *, lifecycle: bool | None = None) -> None:
    """Refuse the implementation forms the host cannot honour, naming the hook and the reason."""
    function = impl.function
    if impl.wrapper or impl.hookwrapper:
        raise RegistrationError(
            f"{hook_name} is marked {'wrapper' if impl.wrapper else 'hookwrapper'}=True; host hooks are called "
            "plugin by plugin, so wrappers are not supported"
        )
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise RegistrationError(f"{hook_name} is a generator function; hook implementations return, they do not yield")
    awaited = hook_name in LIFECYCLE_HOOKS if lifecycle is None else lifecycle
    if inspect.iscoroutinefunction(function) and not awaited:
        raise RegistrationError(
            f"{hook_name} is 'async def', which only the lifecycle hooks ({', '.join(sorted(LIFECYCLE_HOOKS))}) "
            "may be: it must do its work before it returns"
        )


def _call_bounded(caller: Callable[..., Any], arguments: dict[str, Any], timeout: float) -> Any:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, caller(**arguments)))
        except BaseException as exc:  # handed to the caller below
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name="snakepit-lifecycle", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise TimeoutError(f"did not return within {timeout:g} s; carrying on without it")
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _load_entry_point(ep: EntryPoint) -> object:
    module_name, _, attribute = ep.value.partition(":")
    target: object = importlib.import_module(module_name.strip())
    for part in filter(None, attribute.strip().split(".")):
        target = getattr(target, part)
    # A class is instantiated, as for ``add`` and ``--adapter``: pluggy would call its hooks unbound.
    return target() if inspect.isclass(target) else target


def _import_adapter(spec: str) -> object:
    """The object ``spec`` names: ``pkg.mod.attr``, ``pkg.mod:attr`` or a module."""
    module_name, _, attribute = spec.partition(":") if ":" in spec else spec.rpartition(".")
    try:
        target: object = importlib.import_module(module_name)
        if attribute:
            target = getattr(target, attribute)
    except Exception as first:
        try:
            target = importlib.import_module(spec)  # a module named with dots, not module.attribute
        except Exception:
            raise ImportError(f"cannot import adapter {spec}: {type(first).__name__}: {first}") from None
    return target


def _has_hookimpls(plugin: object) -> bool:
    marker = f"{hookspecs.PROJECT}_impl"
    return any(hasattr(getattr(plugin, name, None), marker) for name in dir(plugin) if not name.startswith("__"))


def _describe_object(plugin: object) -> str:
    if inspect.ismodule(plugin):
        return plugin.__name__
    cls = plugin if inspect.isclass(plugin) else type(plugin)
    return f"{cls.__module__}:{cls.__qualname__}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
