"""snakepit-otel: OpenTelemetry tracing of a Snakepit worker's calls, off unless enabled.

Enabled by ``--otel`` or ``SNAKEPIT_OTEL=1``, it opens a server span per
ExecuteTool / ExecuteStreamingTool call, continuing the W3C trace context
found in the request metadata or headers, and makes the host's
``snakepit_host.span`` open child spans (snakepit-tools' Elixir tool calls,
snakepit-dspy's LM calls). The standard ``OTEL_*`` variables choose the
exporter. Nothing of OpenTelemetry is imported while it is off.
"""
