"""Client of Snakepit's Elixir BridgeServer (``--elixir-address``).

The channel is created on first use and never blocks start-up: a host
launched with an address works for everything that does not need Elixir.
Calls that do need it fail with :class:`~snakepit_host._errors.Unavailable`
naming the address. When the connection comes back after a loss (Elixir
restarted), the sessions known to Elixir are forgotten and reconnect
callbacks run, so plugins can re-announce what they registered there.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

import grpc

from snakepit_host import _errors as errors
from snakepit_host._lanes import remaining_for
from snakepit_host.proto import snakepit_bridge_pb2 as pb
from snakepit_host.proto import snakepit_bridge_pb2_grpc as pb_grpc

log = logging.getLogger("snakepit_host.elixir")

DEFAULT_TIMEOUT = 10.0

_STATUS_ERRORS: dict[grpc.StatusCode, type[errors.SnakepitError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNIMPLEMENTED: errors.Unimplemented,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
}


_LOST_STATES = (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.TRANSIENT_FAILURE)


class ElixirClient:
    """Lazy, thread-safe stub for the Elixir side of BridgeService."""

    def __init__(self, address: str, *, max_message_bytes: int = 100 * 1024 * 1024) -> None:
        self.address = address
        self._max_message_bytes = max_message_bytes
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.BridgeServiceStub | None = None
        self._lock = threading.Lock()
        self._sessions: dict[str, int] = {}
        """Sessions initialised on Elixir since it last started, each with the serial of its initialisation."""
        self._serials = itertools.count(1)
        self._reconnect_callbacks: list[Callable[[], None]] = []
        self._was_ready = False
        self._lost = False
        self.last_error: str | None = None

    @property
    def stub(self) -> pb_grpc.BridgeServiceStub:
        if self._stub is None:
            with self._lock:
                if self._stub is None:
                    options = [
                        ("grpc.max_send_message_length", self._max_message_bytes),
                        ("grpc.max_receive_message_length", self._max_message_bytes),
                        # gRPC's default backoff grows to 120 s; a restarted Elixir should be
                        # found again within a couple of seconds, however long it was away.
                        ("grpc.initial_reconnect_backoff_ms", 200),
                        ("grpc.max_reconnect_backoff_ms", 2000),
                    ]
                    self._channel = grpc.insecure_channel(self.address, options=options)
                    self._channel.subscribe(self._on_connectivity, try_to_connect=False)
                    self._stub = pb_grpc.BridgeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        return self._stub

    def _on_connectivity(self, state: grpc.ChannelConnectivity) -> None:
        if state is grpc.ChannelConnectivity.READY:
            if self._lost:
                self._lost = False
                log.info("Elixir at %s is reachable again", self.address)
                self._start_over()
            self._was_ready = True
        elif state in _LOST_STATES and self._was_ready and not self._lost:
            # A restarted Elixir closes the connection (READY -> IDLE) and has
            # forgotten its sessions: forget them now, so the next call
            # re-initialises its session instead of racing the reconnect.
            self._lost = True
            with self._lock:
                self._sessions.clear()

    def _start_over(self) -> None:
        """Elixir restarted and has forgotten everything: forget its sessions here, run the reconnect callbacks."""
        with self._lock:
            self._sessions.clear()
            callbacks = list(self._reconnect_callbacks)
        for callback in callbacks:
            threading.Thread(target=_run_quietly, args=(callback,), daemon=True).start()

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (in a thread) each time Elixir is found to have restarted.

        That is when it is reachable again after a loss, or when a call finds
        that it forgot a session initialised there (the channel may not notice
        a quick restart at all: it can be READY again before anyone looks).
        """
        with self._lock:
            self._reconnect_callbacks.append(callback)

    def call(self, method: str, request: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Call a BridgeService method on Elixir; gRPC failures become SnakepitErrors.

        Made while serving an RPC, the call waits no longer than that RPC's
        caller does (:data:`snakepit_host._lanes.call_deadline`).
        """
        timeout, callers_deadline = remaining_for(timeout)
        try:
            response = getattr(self.stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            details = exc.details() if hasattr(exc, "details") else str(exc)
            if code is grpc.StatusCode.DEADLINE_EXCEEDED and callers_deadline:
                raise errors.DeadlineExceeded(
                    f"the caller's deadline passed while waiting for Elixir at {self.address} ({method})"
                ) from None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                self._lost = self._lost or self._was_ready
                self.last_error = f"{code.name}: {details}"
                raise errors.Unavailable(
                    f"Elixir at {self.address} is unreachable ({method}: {code.name.lower()}: {details})"
                ) from None
            error_class = _STATUS_ERRORS.get(code, errors.SnakepitError)
            raise error_class(f"Elixir answered {method} with {code.name}: {details}") from None
        self.last_error = None
        return response

    def ensure_session(self, session_id: str) -> int:
        """Make sure Elixir's session store has this session (once per session and Elixir start).

        Returns the serial of that initialisation: it changes when Elixir is
        found to have restarted and the session is initialised again.
        """
        serial = self._sessions.get(session_id)
        if serial is not None:
            return serial
        try:
            response = self.call("InitializeSession", pb.InitializeSessionRequest(session_id=session_id))
        except errors.AlreadyExists:
            pass
        else:
            if not response.success and "exist" not in response.error_message.lower():
                raise errors.Unavailable(
                    f"Elixir refused session '{session_id}': {response.error_message or 'no reason given'}"
                )
        with self._lock:
            return self._sessions.setdefault(session_id, next(self._serials))

    def call_in_session(
        self,
        session_id: str,
        method: str,
        request: Any,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        refused: Callable[[Any], bool] | None = None,
    ) -> Any:
        """:meth:`call` for a session Elixir must know, initialised there first if needed.

        The host hears of an Elixir restart from the channel, a moment later
        than a call can already reach the new Elixir (or never, when the
        channel is READY again before anyone looks), and the new Elixir has
        forgotten every session. So when the answer is NOT_FOUND, or one
        ``refused`` says is a refusal (``success=false``), and either the
        restart was noticed meanwhile (the session's initialisation changed)
        or Elixir confirms it no longer has the session (GetSession), the
        session is initialised again and the call made once more: Elixir ran
        nothing in a session it did not have.
        """
        serial = self.ensure_session(session_id)
        try:
            response = self.call(method, request, timeout)
        except errors.NotFound:
            if not self._lost_session(session_id, serial):
                raise
        else:
            if refused is None or not refused(response) or not self._lost_session(session_id, serial):
                return response
        self.ensure_session(session_id)
        return self.call(method, request, timeout)

    def _lost_session(self, session_id: str, serial: int) -> bool:
        return self._sessions.get(session_id) != serial or self._forgot(session_id)

    def _forgot(self, session_id: str) -> bool:
        """True when Elixir answers that it has no such session: it restarted, so start over (:meth:`_start_over`)."""
        try:
            self.call("GetSession", pb.GetSessionRequest(session_id=session_id))
        except errors.NotFound:
            log.info(
                "Elixir at %s no longer knows session %r: it restarted; initialising again", self.address, session_id
            )
            self._start_over()
            return True
        except errors.SnakepitError:
            pass  # unreachable, or GetSession unanswered: the first answer stands
        return False

    def forget_session(self, session_id: str) -> None:
        """The host closed this session: a later one of the same id is initialised on Elixir again."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def ping(self, timeout: float = 1.0) -> bool:
        """True when Elixir answers a Ping within ``timeout`` seconds."""
        try:
            self.call("Ping", pb.PingRequest(message="snakepit-host"), timeout=timeout)
            return True
        except errors.SnakepitError:
            return False

    def describe(self) -> dict[str, Any]:
        return {"address": self.address, "connected": self._was_ready and not self._lost, "last_error": self.last_error}

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = None
            self._stub = None


def _run_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("reconnect callback failed")
