"""Settings of one host process, given by the command line or by tests."""

from __future__ import annotations

from typing import Any

DEFAULT_PORT = 50052
MiB = 1024 * 1024


class HostConfig:
    """Settings of one host process (from the CLI, or given by tests), by keyword.

    - ``max_workers``: most unary calls running at once; more are refused with RESOURCE_EXHAUSTED.
    - ``max_streams``: most streams (ExecuteStreamingTool, WatchVariables, StreamTelemetry...) open at once.
    - ``error_format``: ``"text"``, or ``"json"`` (Snakepit 0.13's structured errors).
    - ``options``: plugin option values given on the command line (strings) or by tests, by
      option name. Options left out fall back to their environment variable, then their
      default; the plugin manager converts and checks them once, at start-up (see
      ``register_options``), and ``host.option(name)`` returns the result.

    A plain class, not a dataclass: every worker start defines it, and
    generating a dataclass's ``__init__`` costs ~0.5 ms.
    """

    def __init__(
        self,
        *,
        bind_host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        max_workers: int = 16,
        max_streams: int = 64,
        max_message_bytes: int = 100 * MiB,
        session_ttl: float = 3600.0,
        max_sessions: int = 10_000,
        call_timeout: float | None = None,
        shutdown_grace: float = 1.5,
        elixir_address: str | None = None,
        error_format: str = "text",
        include_tracebacks: bool = False,
        run_id: str = "",
        options: dict[str, Any] | None = None,
    ) -> None:
        self.bind_host = bind_host
        self.port = port
        self.max_workers = max_workers
        self.max_streams = max_streams
        self.max_message_bytes = max_message_bytes
        self.session_ttl = session_ttl
        self.max_sessions = max_sessions
        self.call_timeout = call_timeout
        self.shutdown_grace = shutdown_grace
        self.elixir_address = elixir_address
        self.error_format = error_format
        self.include_tracebacks = include_tracebacks
        self.run_id = run_id
        self.options: dict[str, Any] = {} if options is None else options
