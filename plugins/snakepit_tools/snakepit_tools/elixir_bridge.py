"""The two-way tool bridge with Elixir's BridgeServer, one per host.

Python -> Elixir announcement: this worker's tools are registered with
RegisterTools (PROTOCOL.md §6.1), under a worker id Elixir can route back to
(see :func:`worker_id_for`), once per session that Elixir knows:

- the sessions a client created with InitializeSession (under Snakepit 0.13,
  the worker's own session, once per worker) and ``default_session`` (every
  call of Snakepit 0.4 carries it) are announced as soon as they exist, on
  one background thread, so that a slow or absent Elixir never delays or
  fails a call;
- any other session (one a call created by naming its id) is announced the
  first time this worker talks to Elixir about it (its Elixir tools, an
  Elixir tool call), just before. A session that never reaches Elixir costs
  Elixir nothing: no InitializeSession, no RegisterTools. That is what
  Snakepit's own server does too, which registers tools under the request's
  session only.

Outcomes are counted in the bridge's status (``describe``: ``status.tools``).
When Elixir comes back after a loss (it restarted and forgot everything),
every session it knew (announced before) is announced again at once and its
Elixir tools are fetched again.

Elixir -> Python tools: GetExposedElixirTools is asked once per session (and
again after a reconnect); each tool becomes a session-local proxy
(``session.local_commands``, language ``elixir``) that calls
ExecuteElixirTool, so it is reachable by name like any other tool.
Parameters travel as StringValue-URL JSON, which is what Elixir decodes
(PROTOCOL.md §4.1; not Snakepit 0.13's packed StringValue, §9.4).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snakepit_host import (
    DEFAULT_SESSION_ID,
    EncodeError,
    InvalidArgument,
    SnakepitError,
    Tool,
    Unavailable,
    check_name,
    codec,
    describe_exception,
    span,
)
from snakepit_tools.commands import DEFAULT_ELIXIR_TIMEOUT

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from snakepit_host import Host, Session, SessionContext, pb

log = logging.getLogger("snakepit_tools")

OWNER = "tools"
"""Owner recorded on Elixir tool proxies: this plugin's entry-point name."""
MAX_METADATA_ENTRIES = 32
MAX_METADATA_BYTES = 4096
_READY_FILE = re.compile(r"^snakepit_ready_(?P<worker>.+)_\d+$")
_REFERENCE_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
    "null": "none",
}
_ELIXIR_TYPES = {
    "string": "string",
    "str": "string",
    "binary": "string",
    "atom": "string",
    "integer": "integer",
    "int": "integer",
    "float": "number",
    "number": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "list": "array",
    "array": "array",
    "map": "object",
    "object": "object",
    "dict": "object",
}


STATE_KEY = "tools"
"""The bridge's ``host.state`` key (and so its name under ``status`` in ``describe``)."""
ELIXIR_STATE_KEY = "snakepit-tools.elixir"
"""A session's :class:`ElixirTools` (``session.state`` key)."""


def bridge_for(host: Host) -> ToolBridge:
    """The host's tool bridge (one per host; tests run several hosts in one process)."""
    return host.state(STATE_KEY, lambda: ToolBridge(host))


def close_bridge(host: Host) -> None:
    """Stop the host's background announcements (it is shutting down)."""
    bridge = host.pop_state(STATE_KEY)
    if bridge is not None:
        bridge.close()


class ElixirToolError(SnakepitError):
    """An Elixir tool answered ``success=false``; the message is Elixir's, unchanged."""


def worker_id_for(host: Host) -> str:
    """The id this worker's tools are registered under.

    Elixir routes a remote tool call to the worker whose id matches, so the
    id must be Elixir's own name for this worker; Snakepit's reference
    ``python-<object id>`` never matches anything (PROTOCOL.md §9.3). In order:
    ``--tools-worker-id`` / ``$SNAKEPIT_WORKER_ID`` when given; else the
    worker id Snakepit 0.13 embeds in ``$SNAKEPIT_READY_FILE``
    (``snakepit_ready_<worker id>_<n>``); else ``snakepit-host@<address>``,
    which at least names the port Elixir can reach this worker on.
    """
    explicit = host.option("tools_worker_id")
    if explicit:
        return str(explicit)
    ready_file = os.environ.get("SNAKEPIT_READY_FILE")
    if ready_file:
        match = _READY_FILE.match(os.path.basename(ready_file))
        if match:
            return match["worker"]
    return f"snakepit-host@{host.address or 'unbound'}"


class ElixirTools:
    """One session's standing with Elixir: announced, and its Elixir tools fetched, once per connection generation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = -1
        self.announced = -1
        self.tools: dict[str, Tool] = {}


def announced_eagerly(session: Session) -> bool:
    """Sessions Elixir knows from the start: initialised by a client, or Snakepit 0.4's ``default_session``."""
    return session.explicit or session.id == DEFAULT_SESSION_ID


class ToolBridge:
    """Announcement, Elixir tool proxies and ExecuteElixirTool for one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.worker_id = worker_id_for(host)
        self.generation = 0
        self.counts: dict[str, Any] = {
            "worker_id": self.worker_id,
            "elixir_address": host.config.elixir_address,
            "announced_sessions": 0,
            "announce_failures": 0,
            "last_announce_error": None,
            "elixir_tool_failures": 0,
            "last_elixir_error": None,
            "reconnects": 0,
        }
        self._registrations: list[pb.ToolRegistration] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        if host.elixir is not None:
            host.elixir.on_reconnect(self.reconnected)

    def status(self) -> dict[str, Any]:
        """Announcements and Elixir tool fetches so far (``describe`` shows it)."""
        return dict(self.counts)

    # ------------------------------------------------------------ background work

    def _submit(self, session_id: str) -> None:
        with self._lock:
            if self._closed:
                return
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snakepit-tools-announce")
            self._executor.submit(self.prefetch, session_id)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def session_created(self, session: Session) -> None:
        if self.host.elixir is not None and announced_eagerly(session):
            self._submit(session.id)

    def reconnected(self) -> None:
        """Elixir is back after a loss: it has forgotten sessions and tools, so tell it again.

        The sessions it knew are told again at once: the eagerly announced ones and those that
        reached Elixir before. The others still cost it nothing (the new generation makes
        :meth:`elixir_tools` and :meth:`call_elixir` announce them first, if they ever use it).
        """
        self.generation += 1
        self.counts["reconnects"] += 1
        for session_id in self.host.sessions.ids():
            session = self.host.sessions.get(session_id)
            if session is None:
                continue
            standing = session.get_state(ELIXIR_STATE_KEY)
            if announced_eagerly(session) or (isinstance(standing, ElixirTools) and standing.announced >= 0):
                self._submit(session_id)

    # ------------------------------------------------------------ Python tools -> Elixir

    def prefetch(self, session_id: str) -> None:
        """Background work for an eagerly announced session: announce it, then fetch its Elixir tools."""
        session = self.host.sessions.get(session_id)
        if session is None or self.host.elixir is None:
            return
        try:
            self.elixir_tools(session)
        except SnakepitError:
            pass  # counted in the status; callers that need them will ask again

    def ensure_announced(self, session: Session) -> None:
        """Announce this worker's tools for ``session`` unless done in this connection generation."""
        cache = session.state(ELIXIR_STATE_KEY, ElixirTools)
        generation = self.generation
        if cache.announced != generation:
            with cache.lock:
                self._announce(session, cache, generation)

    def _announce(self, session: Session, cache: ElixirTools, generation: int) -> None:
        """Register this worker's tools with Elixir for one session (once per generation; the caller holds the lock)."""
        elixir = self.host.elixir
        if elixir is None or cache.announced == generation:
            return
        from snakepit_host import pb

        try:
            registrations = self.registrations()
            if registrations:
                request = pb.RegisterToolsRequest(session_id=session.id, tools=registrations, worker_id=self.worker_id)
                response = elixir.call_in_session(session.id, "RegisterTools", request, refused=_refused_tools)
                if _refused_tools(response):
                    raise Unavailable(f"Elixir refused RegisterTools: {response.error_message or 'no reason given'}")
        except SnakepitError as exc:
            self.counts["announce_failures"] += 1
            self.counts["last_announce_error"] = f"session '{session.id}': {exc}"
            log.warning("could not announce tools to Elixir for session %s: %s", session.id, exc)
            return
        cache.announced = generation
        self.counts["announced_sessions"] += 1

    def registrations(self) -> list[pb.ToolRegistration]:
        """This worker's Python tools as ToolRegistration messages (built once: the registry is frozen)."""
        if self._registrations is None:
            tools = sorted(self.host.registry.tools(), key=lambda t: t.name)
            self._registrations = [tool_registration(t) for t in tools if t.language == "python"]
        return self._registrations

    # ------------------------------------------------------------ Elixir tools -> Python

    def elixir_tools(self, session: Session) -> dict[str, Tool]:
        """The session's Elixir tools as proxies (fetched on first need and after a reconnect).

        Raises Unavailable when Elixir cannot be asked; an empty dict when
        this host has no Elixir address.
        """
        elixir = self.host.elixir
        if elixir is None:
            return {}
        cache = session.state(ELIXIR_STATE_KEY, ElixirTools)
        if cache.generation == self.generation:
            return cache.tools
        with cache.lock:
            generation = self.generation
            if cache.generation != generation:
                from snakepit_host import pb

                self._announce(session, cache, generation)
                try:
                    request = pb.GetExposedElixirToolsRequest(session_id=session.id)
                    response = elixir.call_in_session(session.id, "GetExposedElixirTools", request)
                except SnakepitError as exc:
                    self.counts["elixir_tool_failures"] += 1
                    self.counts["last_elixir_error"] = str(exc)
                    raise
                tools = {}
                for spec in response.tools:
                    proxy = self._proxy(spec)
                    if proxy is not None:
                        tools[proxy.name] = proxy
                _replace_proxies(session, cache.tools, tools)
                cache.tools = tools
                cache.generation = generation
        return cache.tools

    def _proxy(self, spec: pb.ToolSpec) -> Tool | None:
        try:
            name = check_name("Elixir tool", spec.name)
        except SnakepitError as exc:
            log.warning("ignoring an Elixir tool: %s", exc)
            return None
        if name in self.host.registry.commands:
            log.warning("Elixir tool '%s' is shadowed by a Python command of the same name", name)
            return None
        try:
            parameters = spec_schema(spec)
        except Exception as exc:  # the spec is Elixir's data: one unreadable tool must not hide the others
            log.warning("ignoring Elixir tool '%s': its parameters cannot be read: %s", name, describe_exception(exc))
            return None
        call = ElixirToolCall(self, name)
        metadata = {str(k): str(v) for k, v in spec.metadata.items()}
        metadata["supports_streaming"] = "true" if spec.supports_streaming else "false"
        return Tool(
            name=name,
            owner=OWNER,
            target=call,
            description=spec.description,
            parameters=parameters,
            streaming=False,
            metadata=metadata,
            language="elixir",
            invoker=call,
        )

    def call_elixir(self, session_id: str, tool_name: str, params: Mapping[str, Any], timeout: float | None) -> Any:
        """ExecuteElixirTool: Elixir's result, or its error message raised unchanged."""
        elixir = self.host.elixir
        if elixir is None:
            raise Unavailable(
                f"cannot call Elixir tool '{tool_name}': this worker has no Elixir address (--elixir-address)"
            )
        from snakepit_host import pb

        request = pb.ExecuteElixirToolRequest(session_id=session_id, tool_name=tool_name)
        for key, value in params.items():
            try:
                request.parameters[key].CopyFrom(codec.encode_json_any(value))
            except EncodeError as exc:
                raise InvalidArgument(f"Elixir tool '{tool_name}': parameter '{key}' cannot be sent: {exc}") from None
        session = self.host.sessions.get(session_id)
        if session is not None:
            self.ensure_announced(session)
        if timeout is None:
            timeout = self.host.option("tools_elixir_timeout")
        with span(
            "BridgeService/ExecuteElixirTool",
            {"snakepit.tool": tool_name, "snakepit.session_id": session_id},
            kind="client",
        ):
            response = elixir.call_in_session(
                session_id, "ExecuteElixirTool", request, timeout=timeout or DEFAULT_ELIXIR_TIMEOUT, refused=_failed
            )
        if not response.success:
            raise ElixirToolError(response.error_message or f"Elixir tool '{tool_name}' failed without a message")
        value = codec.decode_any(response.result, lenient_text=True) if response.HasField("result") else None
        if response.binary_result:
            return codec.Result(
                value, binary=codec.unpack_binary(response.binary_result), metadata=dict(response.metadata)
            )
        return value


class ElixirToolCall:
    """Invoker (and target) of an Elixir tool proxy."""

    def __init__(self, bridge: ToolBridge, name: str) -> None:
        self.bridge = bridge
        self.name = name
        self.__name__ = name

    def __call__(self, ctx: SessionContext, params: dict[str, Any]) -> Any:
        if ctx.binary:
            raise InvalidArgument(
                f"Elixir tool '{self.name}' takes JSON parameters only; "
                f"binary parameter(s) {', '.join(sorted(ctx.binary))} cannot be forwarded"
            )
        return self.bridge.call_elixir(ctx.session_id, self.name, params, ctx.time_remaining())


def _refused_tools(response: pb.RegisterToolsResponse) -> bool:
    # 0.13 refuses a batch that repeats a name it has (we announced before): that is done, not refused.
    return not response.success and "duplicate_tool" not in response.error_message


def _failed(response: pb.ExecuteElixirToolResponse) -> bool:
    return not response.success


def _replace_proxies(session: Session, old: Mapping[str, Tool], new: Mapping[str, Tool]) -> None:
    local = session.local_commands
    for name, proxy in old.items():
        if local.get(name) is proxy and name not in new:
            del local[name]
    local.update(new)


# ---------------------------------------------------------------- wire shapes


def tool_registration(tool: Tool) -> pb.ToolRegistration:
    """A Python tool as Snakepit's ToolRegistration (PROTOCOL.md §6.1)."""
    from snakepit_host import pb

    schema = tool.parameters or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    defs = schema.get("$defs")
    parameters = []
    for name, prop in properties.items():
        validation = dict(prop)
        if defs and "$ref" in json.dumps(prop):
            validation["$defs"] = defs
        parameters.append(
            pb.ParameterSpec(
                name=name,
                type=reference_type(prop),
                description=str(prop.get("description", "")),
                required=name in required,
                validation_json=json.dumps(validation, separators=(",", ":")),
            )
        )
    return pb.ToolRegistration(
        name=tool.name,
        description=tool.description,
        parameters=parameters,
        metadata=registration_metadata(tool),
        supports_streaming=tool.streaming,
    )


def reference_type(prop: Mapping[str, Any]) -> str:
    """The type word Snakepit's reference uses (``str``, ``int``, ``list``...; ``any`` otherwise)."""
    binary = prop.get("x-snakepit-binary")
    if binary == "bytes":
        return "bytes"
    kind = single_type(prop)
    if kind is None and "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        return reference_type(options[0]) if len(options) == 1 else "any"
    if kind is None and "$ref" in prop:
        return "dict"
    if kind is None and "enum" in prop:
        names = {type(v).__name__ for v in prop["enum"]}
        return names.pop() if len(names) == 1 else "any"
    return _REFERENCE_TYPES.get(str(kind), "any") if kind is not None else "any"


def single_type(prop: Mapping[str, Any]) -> Any:
    """The JSON type ``prop`` names, null aside (``["string", "null"]`` is ``"string"``); None if not just one."""
    kind = prop.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if len(kinds) == 1 else None
    return kind


def registration_metadata(tool: Tool) -> dict[str, str]:
    """Metadata within Snakepit 0.13's limits (32 entries, 4 KiB); optional entries go first when over."""
    handler = tool.target
    module = getattr(handler, "__module__", None) or ""
    essential = {"language": tool.language, "owner": tool.owner, "module": str(module)}
    if tool.tags:
        essential["tags"] = ",".join(tool.tags)
    optional = {str(k): str(v) for k, v in tool.metadata.items() if k not in essential}
    if tool.returns is not None:
        optional.setdefault("returns", json.dumps(tool.returns, separators=(",", ":")))
    metadata = dict(essential)
    for key, value in optional.items():
        candidate = {**metadata, key: value}
        if len(candidate) <= MAX_METADATA_ENTRIES and _term_size(candidate) <= MAX_METADATA_BYTES:
            metadata = candidate
    return metadata


def _term_size(metadata: Mapping[str, str]) -> int:
    """An upper bound of the Erlang external term size of a string map (what Elixir measures)."""
    return 6 + sum(12 + len(k.encode()) + len(v.encode()) for k, v in metadata.items())


def spec_schema(spec: pb.ToolSpec) -> dict[str, Any]:
    """An Elixir ToolSpec's parameters as a JSON schema (for listings and agent signatures)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in spec.parameters:
        prop: dict[str, Any] = {}
        if parameter.validation_json:
            try:
                validation = json.loads(parameter.validation_json)
            except ValueError:
                validation = None
            if isinstance(validation, dict):
                prop.update(validation)
        kind = _ELIXIR_TYPES.get(parameter.type.strip().lower())
        if kind is not None:
            prop.setdefault("type", kind)
        if parameter.description:
            prop["description"] = parameter.description
        if parameter.HasField("default_value"):
            try:
                prop["default"] = codec.decode_any(parameter.default_value, lenient_text=True)
            except SnakepitError:
                pass
        properties[parameter.name] = prop
        if parameter.required:
            required.append(parameter.name)
    return {"type": "object", "properties": properties, "required": required}
