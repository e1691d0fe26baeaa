"""Process life of a served host: readiness, signals, parent watch, heartbeats.

Snakepit 0.4.x reads ``GRPC_READY:<port>`` from stdout; 0.13.x polls the
file named by ``SNAKEPIT_READY_FILE``. The host does both. It stops on
SIGTERM/SIGINT, when its parent process goes away, or (0.13.x, dependent
mode) when heartbeats to Elixir keep failing; in-flight calls get the grace
period to finish, then the process exits 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from snakepit_host import _startup
from snakepit_host._server import BridgeServer

if TYPE_CHECKING:
    from snakepit_host._host import Host

log = logging.getLogger("snakepit_host")

PARENT_POLL_SECONDS = 0.25
TRUTHY = {"1", "true", "yes", "on"}


class HeartbeatConfig:
    """Python -> Elixir heartbeats (Snakepit 0.13's ``SNAKEPIT_HEARTBEAT_CONFIG``).

    A plain class whose defaults are class attributes: every worker start
    defines it, and a dataclass costs ~0.4 ms to define.
    """

    enabled: bool = False
    interval_ms: int = 2000
    timeout_ms: int = 10_000
    max_missed_heartbeats: int = 3
    initial_delay_ms: int = 0
    dependent: bool = True

    @classmethod
    def from_env(cls, raw: str | None) -> HeartbeatConfig:
        config = cls()
        if not raw:
            return config
        try:
            values = json.loads(raw)
        except ValueError:
            log.warning("SNAKEPIT_HEARTBEAT_CONFIG is not JSON; heartbeats stay off")
            return config
        if not isinstance(values, dict):
            return config
        for key, value in values.items():
            if key in _HEARTBEAT_SETTINGS and value is not None:
                setattr(config, key, type(getattr(config, key))(value))
        return config


_HEARTBEAT_SETTINGS = frozenset(HeartbeatConfig.__annotations__)
"""The settings ``SNAKEPIT_HEARTBEAT_CONFIG`` may give (its other keys are ignored)."""


def announce_ready(port: int, ready_file: str | None) -> None:
    """Tell Snakepit the port: a stdout line (0.4.x) and an atomically written file (0.13.x)."""
    sys.stdout.write(f"GRPC_READY:{port}\n")
    sys.stdout.flush()
    if ready_file:
        temporary = f"{ready_file}.tmp"
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write(str(port))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, ready_file)


def quiet_stdout() -> None:
    """After the readiness line, send anything else written to stdout to stderr.

    Snakepit reads the worker's stdout for ``GRPC_READY``; libraries that
    print (DSPy's optimizers do) must not write there. Both the Python stream
    and file descriptor 1 are redirected, so C extensions are covered too.
    """
    sys.stdout.flush()
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError):  # not real files (embedded use): the Python stream still moves
        pass
    sys.stdout = sys.stderr


def join_process_group() -> None:
    """Become a process-group leader when Snakepit asks (so group kills reach children)."""
    if os.environ.get("SNAKEPIT_PROCESS_GROUP", "").strip().lower() in TRUTHY:
        try:
            os.setsid()
        except OSError:
            pass  # already a group leader


def _parent_alive(host: Host, parent: int) -> bool:
    """Whether ``parent`` (read when the process started) is still this process's parent; stops the host if not.

    Checked before readiness: a parent that died while the host was starting
    (loading plugins takes a while) must not leave a worker behind.
    """
    if os.getppid() != parent:
        host.request_shutdown(f"parent process {parent} exited while the host was starting")
        return False
    return True


def _watch_parent(host: Host, parent: int) -> None:
    """Stop when ``parent`` is no longer this process's parent (polled by a thread started after readiness)."""

    def run() -> None:
        while not host.wait_for_shutdown(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                host.request_shutdown(f"parent process {parent} exited")
                return

    threading.Thread(target=run, name="snakepit-parent-watch", daemon=True).start()


def warn_if_exposed(bind_host: str) -> None:
    """Anything but loopback is reachable from other machines, and nothing checks who calls."""
    if _is_loopback(bind_host):
        return
    log.warning(
        "LISTENING ON %s, NOT ONLY ON THIS MACHINE: snakepit-host has no authentication and no encryption "
        "(like Snakepit's own worker), so anyone who can reach this port can run every command and tool of "
        "this worker and read and change its variables. Bind 127.0.0.1 (the default) unless every machine "
        "that can reach the port is trusted; see docs/snakepit.md, 'Trust model'.",
        bind_host,
    )


def _is_loopback(bind_host: str) -> bool:
    host = bind_host.strip("[]")
    if host in ("127.0.0.1", "localhost", "::1"):
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any address


def _heartbeat_loop(host: Host, config: HeartbeatConfig) -> None:
    elixir = host.elixir
    if not config.enabled or elixir is None:
        return
    from google.protobuf.timestamp_pb2 import Timestamp

    from snakepit_host._errors import SnakepitError
    from snakepit_host.proto import snakepit_bridge_pb2 as pb

    def run() -> None:
        if host.wait_for_shutdown(config.initial_delay_ms / 1000):
            return
        missed = 0
        while True:
            stamp = Timestamp()
            stamp.GetCurrentTime()
            request = pb.HeartbeatRequest(session_id=host.worker_session_id or "", client_time=stamp)
            try:
                elixir.call("Heartbeat", request, timeout=config.timeout_ms / 1000)
                missed = 0
            except SnakepitError as exc:
                missed += 1
                log.warning("heartbeat %d/%d to Elixir failed: %s", missed, config.max_missed_heartbeats, exc)
                if config.dependent and missed >= config.max_missed_heartbeats:
                    host.request_shutdown(f"lost {missed} heartbeats to Elixir at {elixir.address}")
                    return
            if host.wait_for_shutdown(config.interval_ms / 1000):
                return

    threading.Thread(target=run, name="snakepit-heartbeat", daemon=True).start()


def serve(
    host: Host,
    *,
    ready_file: str | None = None,
    heartbeat: HeartbeatConfig | None = None,
    parent: int | None = None,
    handle_signals: bool = True,
) -> BridgeServer:
    """Bind, start, announce readiness, and block until asked to stop; then drain and stop.

    With ``parent`` (the parent's pid, read as the process started), the
    host stops when that process exits. Once stopping, the process exits
    within :data:`EXIT_MARGIN` seconds after the grace period, whatever its
    threads are doing (:func:`_exit_by`).
    """
    server = BridgeServer(host)
    port = server.bind()
    _startup.mark("server bound")
    warn_if_exposed(host.config.bind_host)
    server.start()
    _startup.mark("server started")
    host.started()
    _startup.mark("host_started hooks")
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, frame: host.request_shutdown(signal.Signals(number).name))
    # Not watched when started by init, or by a parent already gone before anything could read it.
    watched = parent if parent is not None and parent > 1 else None
    alive = watched is None or _parent_alive(host, watched)
    if alive and not host.stopping:  # the parent may be gone already: nobody would read the line
        announce_ready(port, ready_file)
        _startup.mark("ready")
        _startup.resume_gc()
        quiet_stdout()
        log.info("snakepit-host %s serving on %s (pid %d)", host.version, host.address, os.getpid())
    if watched is not None and not host.stopping:
        _watch_parent(host, watched)
    if heartbeat is not None:
        _heartbeat_loop(host, heartbeat)
    while not host.wait_for_shutdown(1.0):
        pass
    _exit_by(host.shutdown_deadline + EXIT_MARGIN, server)
    shutdown(host, server)
    return server


EXIT_MARGIN = 0.2
"""Seconds past the grace period by which a stopping process is gone (1.5 + 0.2 s: inside Snakepit 0.4.1's 2 s)."""


def shutdown(host: Host, server: BridgeServer) -> None:
    """Drain within the grace period, counted from the stop request.

    New calls are refused at once; plugins hear ``host_stopping`` while the
    running calls finish; calls still running when the grace period ends are
    cancelled.
    """
    host.request_shutdown(host.stop_reason or "stop requested")
    stopped = server.stop_accepting(max(host.shutdown_deadline - time.monotonic(), 0.0))
    host.stopping_hooks()
    stopped.wait(max(host.shutdown_deadline - time.monotonic(), 0.0) + 0.1)
    server.lanes.shutdown()
    host.closed()
    log.info("snakepit-host stopped (%s)", host.stop_reason)


def _exit_by(deadline: float, server: BridgeServer) -> None:
    """End the process at ``deadline`` if a normal exit has not by then.

    Python's exit waits for every non-daemon thread, and a handler that
    ignores cancellation (``time.sleep(30)``) would keep the worker alive
    until Snakepit kills it (0.4.1: 2 s after SIGTERM). Past the deadline
    the process leaves without those threads, with exit status 0.
    """

    def run() -> None:
        time.sleep(max(deadline - time.monotonic(), 0.0))
        log.warning(
            "exiting at the end of the grace period with %d call(s) and %d stream(s) still running "
            "(handlers that did not return)",
            server.lanes.calls.admitted,
            server.lanes.streams.admitted,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(0)

    threading.Thread(target=run, name="snakepit-exit-deadline", daemon=True).start()
