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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snakepit_host import _startup
from snakepit_host._server import BridgeServer

if TYPE_CHECKING:
    from snakepit_host._host import Host

log = logging.getLogger("snakepit_host")

PARENT_POLL_SECONDS = 0.25
TRUTHY = {"1", "true", "yes", "on"}


@dataclass(repr=False, eq=False)
class HeartbeatConfig:
    """Python -> Elixir heartbeats (Snakepit 0.13's ``SNAKEPIT_HEARTBEAT_CONFIG``)."""

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
            if hasattr(config, key) and value is not None:
                setattr(config, key, type(getattr(config, key))(value))
        return config


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


def _watch_parent(host: Host) -> None:
    parent = os.getppid()
    if parent <= 1:
        return

    def run() -> None:
        while not host.wait_for_shutdown(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                host.request_shutdown(f"parent process {parent} exited")
                return

    threading.Thread(target=run, name="snakepit-parent-watch", daemon=True).start()


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
    watch_parent: bool = True,
    handle_signals: bool = True,
) -> BridgeServer:
    """Bind, start, announce readiness, and block until asked to stop; then drain and stop."""
    server = BridgeServer(host)
    port = server.bind()
    _startup.mark("server bound")
    server.start()
    _startup.mark("server started")
    host.started()
    _startup.mark("host_started hooks")
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, frame: host.request_shutdown(signal.Signals(number).name))
    announce_ready(port, ready_file)
    _startup.mark("ready")
    _startup.resume_gc()
    quiet_stdout()
    log.info("snakepit-host %s serving on %s (pid %d)", host.version, host.address, os.getpid())
    if watch_parent:
        _watch_parent(host)
    if heartbeat is not None:
        _heartbeat_loop(host, heartbeat)
    while not host.wait_for_shutdown(1.0):
        pass
    shutdown(host, server)
    return server


def shutdown(host: Host, server: BridgeServer) -> None:
    """Drain: plugins hear ``host_stopping``, running calls get the grace period."""
    host.request_shutdown(host.stop_reason or "stop requested")
    host.stopping_hooks()
    server.stop(host.config.shutdown_grace)
    host.closed()
    log.info("snakepit-host stopped (%s)", host.stop_reason)
