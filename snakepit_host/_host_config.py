"""Settings of one host process, given by the command line or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_PORT = 50052
MiB = 1024 * 1024


@dataclass(repr=False, eq=False)  # generated methods cost start-up time; these are unused
class HostConfig:
    """Settings of one host process (from the CLI, or given by tests)."""

    bind_host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_workers: int = 16
    """Most unary calls running at once; more are refused with RESOURCE_EXHAUSTED."""
    max_streams: int = 64
    """Most streams (ExecuteStreamingTool, WatchVariables, StreamTelemetry...) open at once."""
    max_message_bytes: int = 100 * MiB
    session_ttl: float = 3600.0
    max_sessions: int = 10_000
    call_timeout: float | None = None
    shutdown_grace: float = 1.5
    elixir_address: str | None = None
    error_format: str = "text"  # "text", or "json" (Snakepit 0.13's structured errors)
    include_tracebacks: bool = False
    run_id: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    """Plugin option values given on the command line (strings) or by tests, by option name.

    Options left out fall back to their environment variable, then their
    default; the plugin manager converts and checks them once, at start-up
    (see ``register_options``), and ``host.option(name)`` returns the result.
    """
