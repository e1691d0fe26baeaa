"""The ``SessionContext`` an adapter receives, with the API of its Snakepit version, on this host.

Snakepit builds one per request and hands it to ``set_session_context`` and
``execute_tool(context=...)``. These classes offer the same attributes and
methods on the host's facilities instead of Snakepit's Elixir round trips:

* both: ``session_id``, ``stub`` (a synchronous BridgeService stub on the
  Elixir channel whose calls default to the call's remaining time, or None
  without ``--elixir-address``), ``elixir_tools``, ``call_elixir_tool``,
  ``cleanup``, use as a context manager;
* 0.13 adds ``request_metadata`` (the request's metadata);
* 0.4.x adds the variable API (``register_variable``, ``get_variable``,
  ``update_variable``, ``ctx[name]``, ``ctx.v.name``, batches...) served by
  snakepit-variables (``ctx.variables``), and ``strict_mode``, ``call_tool``.

Elixir tool parameters travel as StringValue-URL JSON, which is what Elixir
decodes (0.13's own context packs strings as protobuf messages and other
values as Python repr text, which Elixir cannot read; PROTOCOL.md §9.4).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from snakepit_host import InvalidArgument, NotFound, SnakepitError, Unavailable, codec

if TYPE_CHECKING:
    from snakepit_host import SessionContext, pb

log = logging.getLogger("snakepit_adapters")

ELIXIR_TIMEOUT = 60.0
"""Seconds an Elixir call from an adapter may take when its own call has no deadline."""


class VariableNotFound(KeyError):
    """Raised as Snakepit 0.4's ``VariableNotFoundError`` when the adapter's snakepit_bridge lacks one."""


def variable_not_found_error() -> type[KeyError]:
    """The adapter's own ``snakepit_bridge.session_context.VariableNotFoundError`` (so its ``except`` works)."""
    import sys

    module = sys.modules.get("snakepit_bridge.session_context")
    found = getattr(module, "VariableNotFoundError", None)
    return found if isinstance(found, type) and issubclass(found, KeyError) else VariableNotFound


def deadline_stub(stub: Any, ctx: SessionContext) -> Any:
    """``stub`` whose calls get the adapter call's remaining time (else a minute) unless given a timeout."""
    return _DeadlineStub(stub, ctx)


class _DeadlineStub:
    def __init__(self, stub: Any, ctx: SessionContext) -> None:
        self._stub = stub
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        return _DeadlineMethod(getattr(self._stub, name), self._ctx)


class _DeadlineMethod:
    def __init__(self, method: Any, ctx: SessionContext) -> None:
        self._method = method
        self._ctx = ctx

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if "timeout" not in kwargs and not args:
            kwargs["timeout"] = _timeout(self._ctx)
        return self._method(request, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # .future, .with_call
        return getattr(self._method, name)


def _timeout(ctx: SessionContext) -> float:
    remaining = ctx.time_remaining()
    return ELIXIR_TIMEOUT if remaining is None else max(remaining, 0.001)


class _BridgeContext:
    """What both versions share: the session, the Elixir stub, Elixir tools."""

    def __init__(self, ctx: SessionContext) -> None:
        self._ctx = ctx
        self.session_id = ctx.session_id
        elixir = ctx.host.elixir
        self.stub: Any = deadline_stub(elixir.stub, ctx) if elixir is not None else None

    def __repr__(self) -> str:
        return f"SessionContext(session_id='{self.session_id}')"

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Best effort, as Snakepit's: tell Elixir to end the session (its TTL would anyway)."""
        from snakepit_host import pb

        try:
            self._elixir("CleanupSession", pb.CleanupSessionRequest(session_id=self.session_id))
        except SnakepitError as exc:
            log.debug("session %s: CleanupSession on Elixir failed: %s", self.session_id, exc)

    def _elixir(self, method: str, request: Any) -> Any:
        elixir = self._ctx.host.elixir
        if elixir is None:
            raise Unavailable(f"{method}: this worker has no Elixir address (--elixir-address)")
        elixir.ensure_session(self.session_id)
        return elixir.call(method, request, timeout=_timeout(self._ctx))

    def _exposed_tools(self) -> list[pb.ToolSpec]:
        from snakepit_host import pb

        try:
            response = self._elixir(
                "GetExposedElixirTools", pb.GetExposedElixirToolsRequest(session_id=self.session_id)
            )
        except SnakepitError as exc:
            log.warning("session %s: could not load Elixir tools: %s", self.session_id, exc)
            return []
        return list(response.tools)

    def _execute_elixir(self, tool_name: str, kwargs: dict[str, Any]) -> pb.ExecuteElixirToolResponse:
        from snakepit_host import pb

        request = pb.ExecuteElixirToolRequest(session_id=self.session_id, tool_name=tool_name)
        for key, value in kwargs.items():
            try:
                request.parameters[key].CopyFrom(codec.encode_json_any(value))
            except SnakepitError as exc:
                raise ValueError(f"Failed to serialize parameter '{key}': {exc}") from None
        response: pb.ExecuteElixirToolResponse = self._elixir("ExecuteElixirTool", request)
        return response


class SessionContextV013(_BridgeContext):
    """Snakepit 0.13's ``snakepit_bridge.session_context.SessionContext`` API."""

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__(ctx)
        self.request_metadata = dict(ctx.metadata)
        self._elixir_tools: dict[str, Any] | None = None

    @property
    def elixir_tools(self) -> dict[str, Any]:
        """Elixir's tools for this session, asked on first use: name -> {name, description, parameters}."""
        if self._elixir_tools is None:
            self._elixir_tools = {
                spec.name: {"name": spec.name, "description": spec.description, "parameters": {}}
                for spec in self._exposed_tools()
            }
        return self._elixir_tools

    def call_elixir_tool(self, tool_name: str, **kwargs: Any) -> Any:
        if tool_name not in self.elixir_tools:
            raise ValueError(f"Elixir tool '{tool_name}' not found. Available tools: {list(self.elixir_tools)}")
        try:
            response = self._execute_elixir(tool_name, kwargs)
            if not response.success:
                raise RuntimeError(f"Tool execution failed: {response.error_message}")
            return codec.decode_any(response.result, lenient_text=True) if response.HasField("result") else None
        except Exception as exc:
            raise RuntimeError(f"Failed to call Elixir tool: {exc}") from exc


class SessionContextV04(_BridgeContext):
    """Snakepit 0.4.1's ``snakepit_bridge.session_context.SessionContext`` API, variables included."""

    def __init__(self, ctx: SessionContext, strict_mode: bool = False) -> None:
        super().__init__(ctx)
        self.strict_mode = strict_mode
        self._proxies: dict[str, VariableProxy] = {}
        self._elixir_tools: dict[str, Callable[..., Any]] | None = None

    # ------------------------------------------------------------ Elixir tools

    @property
    def elixir_tools(self) -> dict[str, Callable[..., Any]]:
        """A copy of name -> callable proxy (keyword arguments), documented from Elixir's spec."""
        if self._elixir_tools is None:
            self._elixir_tools = {spec.name: self._proxy(spec) for spec in self._exposed_tools()}
        return dict(self._elixir_tools)

    def _proxy(self, spec: pb.ToolSpec) -> Callable[..., Any]:
        def proxy(**kwargs: Any) -> Any:
            return self.call_elixir_tool(spec.name, **kwargs)

        proxy.__name__ = spec.name
        lines = [
            f"{p.name}: {p.type}"
            + (" (required)" if p.required else "")
            + (f" - {p.description}" if p.description else "")
            for p in spec.parameters
        ]
        doc = spec.description
        if lines:
            doc = (doc + "\n\n" if doc else "") + "Parameters:\n" + "\n".join(lines)
        proxy.__doc__ = doc
        return proxy

    def call_elixir_tool(self, tool_name: str, **kwargs: Any) -> Any:
        response = self._execute_elixir(tool_name, kwargs)
        if not response.success:
            raise RuntimeError(f"Elixir tool execution failed: {response.error_message}")
        if not response.result.value:
            return None
        return codec.decode_any(response.result, lenient_text=True)

    def call_tool(self, tool_name: str, **kwargs: Any) -> Any:
        if tool_name in self.elixir_tools:
            return self.call_elixir_tool(tool_name, **kwargs)
        raise ValueError(f"Tool '{tool_name}' not found")

    def register_tool(self, tool_class: Any) -> None:
        """Does nothing, as in Snakepit 0.4."""

    def cleanup(self, force: bool = False) -> None:
        self._proxies.clear()
        super().cleanup()

    # ------------------------------------------------------------ variables (snakepit-variables)

    @property
    def _variables(self) -> Any:
        try:
            return self._ctx.variables
        except AttributeError:
            raise RuntimeError(
                "Snakepit 0.4's variable API needs the snakepit-variables plugin, which this host does not load"
            ) from None

    def register_variable(
        self,
        name: str,
        var_type: Any,
        initial_value: Any,
        constraints: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        ttl: Any = None,
    ) -> str:
        """Register and return the variable's id; ``var_type`` is a type name or Snakepit's ``VariableType``."""
        kind = str(getattr(var_type, "value", var_type)).lower()
        try:
            variable = self._variables.register(name, kind, initial_value, constraints=constraints, metadata=metadata)
        except InvalidArgument as exc:
            raise ValueError(str(exc)) from None
        except SnakepitError as exc:
            raise RuntimeError(f"Failed to register variable: {exc}") from None
        return str(variable.id)

    def get_variable(self, identifier: str) -> Any:
        try:
            return self._variables.get(identifier)
        except NotFound:
            raise variable_not_found_error()(f"Variable not found: {identifier}") from None

    def update_variable(self, identifier: str, new_value: Any, metadata: dict[str, str] | None = None) -> None:
        try:
            self._variables.set(identifier, new_value, metadata=metadata)
        except NotFound:
            raise variable_not_found_error()(f"Variable not found: {identifier}") from None
        except InvalidArgument as exc:
            raise ValueError(str(exc)) from None
        except SnakepitError as exc:
            raise RuntimeError(f"Failed to update variable: {exc}") from None

    def list_variables(self, pattern: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "id": v.id,
                "name": v.name,
                "type": v.type,
                "value": v.value,
                "version": v.version,
                "constraints": dict(v.constraints),
                "metadata": dict(v.metadata),
                "optimizing": False,
            }
            for v in self._variables.list(pattern or None)
        ]

    def delete_variable(self, identifier: str) -> None:
        try:
            self._variables.delete(identifier)
        except SnakepitError as exc:
            raise RuntimeError(f"Failed to delete variable: {exc}") from None
        self._proxies.pop(identifier, None)

    def get_variables(self, identifiers: list[str]) -> dict[str, Any]:
        """Values keyed by the identifiers asked for and by name; the first missing one raises."""
        found = self._variables.get_variables(identifiers)
        for identifier in identifiers:
            if identifier not in found:
                raise variable_not_found_error()(f"Variable not found: {identifier}")
        result: dict[str, Any] = {}
        for identifier, variable in found.items():
            result[identifier] = result[variable.name] = variable.value
        return result

    def update_variables(
        self, updates: dict[str, Any], atomic: bool = False, metadata: dict[str, str] | None = None
    ) -> dict[str, bool | str]:
        """``{identifier: True | error}``; an atomic batch that fails returns only the errors."""
        self.get_variables(list(updates))
        try:
            self._variables.set_many(updates, atomic=atomic, metadata=metadata)
        except InvalidArgument as exc:
            errors: dict[str, str] = dict(getattr(exc, "errors", None) or {k: str(exc) for k in updates})
            if atomic:
                return dict(errors)
            return {k: errors.get(k, True) for k in updates}
        return dict.fromkeys(updates, True)

    def __getitem__(self, name: str) -> Any:
        return self.get_variable(name)

    def __setitem__(self, name: str, value: Any) -> None:
        missing = variable_not_found_error()
        try:
            self.update_variable(name, value)
        except missing:
            if self.strict_mode:
                raise missing(
                    f"Variable '{name}' not found. In strict mode, variables must be explicitly "
                    "registered with register_variable() before assignment."
                ) from None
            self.register_variable(name, infer_type(value), value)

    def __contains__(self, name: str) -> bool:
        return bool(self._variables.exists(name))

    @property
    def v(self) -> VariableNamespace:
        """``ctx.v.name`` reads, ``ctx.v.name = value`` writes (registering it when missing)."""
        return VariableNamespace(self)

    def variable(self, name: str) -> VariableProxy:
        if name not in self._proxies:
            self._proxies[name] = VariableProxy(self, name)
        return self._proxies[name]

    @contextmanager
    def batch_updates(self) -> Iterator[BatchUpdater]:
        batch = BatchUpdater(self)
        yield batch
        batch.commit()

    def set_cache_ttl(self, ttl: Any) -> None:
        """Accepted for compatibility: reads here are never stale, so nothing is cached."""

    def clear_cache(self) -> None:
        """Accepted for compatibility (nothing is cached)."""


def infer_type(value: Any) -> str:
    """Snakepit 0.4's ``TypeValidator.infer_type``, as a type name."""
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (dict, "map")):
        if isinstance(value, kind):
            return name
    return "list" if isinstance(value, list) else "string"


class VariableProxy:
    """``ctx.variable(name).value``: reads and writes one variable."""

    def __init__(self, context: SessionContextV04, name: str) -> None:
        self._context = weakref.ref(context)
        self._name = name

    def _live(self) -> SessionContextV04:
        context = self._context()
        if context is None:
            raise RuntimeError("SessionContext has been destroyed")
        return context

    @property
    def value(self) -> Any:
        return self._live().get_variable(self._name)

    @value.setter
    def value(self, new_value: Any) -> None:
        self._live().update_variable(self._name, new_value)

    def __repr__(self) -> str:
        try:
            return f"<Variable {self._name}={self.value}>"
        except Exception:
            return f"<Variable {self._name} (not loaded)>"


class VariableNamespace:
    def __init__(self, context: SessionContextV04) -> None:
        object.__setattr__(self, "_context", weakref.ref(context))

    def _live(self) -> SessionContextV04:
        context: SessionContextV04 | None = object.__getattribute__(self, "_context")()
        if context is None:
            raise RuntimeError("SessionContext has been destroyed")
        return context

    def __getattr__(self, name: str) -> Any:
        return self._live().get_variable(name)

    def __setattr__(self, name: str, value: Any) -> None:
        context = self._live()
        try:
            context.update_variable(name, value)
        except variable_not_found_error():
            context.register_variable(name, infer_type(value), value)


class BatchUpdater:
    """``with ctx.batch_updates() as batch: batch[name] = value`` (committed non-atomically on exit)."""

    def __init__(self, context: SessionContextV04) -> None:
        self.context = context
        self.updates: dict[str, Any] = {}

    def __setitem__(self, name: str, value: Any) -> None:
        self.updates[name] = value

    def commit(self, atomic: bool = False) -> dict[str, bool | str]:
        return self.context.update_variables(self.updates, atomic=atomic) if self.updates else {}
