"""Fixtures: the OpenTelemetry SDK with an in-memory exporter, and hosts serving snakepit-otel over real gRPC.

A process has one global tracer provider, set once: the first test that
needs it installs an SDK provider exporting to memory, synchronously, and
every test clears what it holds. The plugin sees a provider already set and
uses it (as it would use ``opentelemetry-instrument``'s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import snakepit_otel.plugin
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from snakepit_host.testing import RunningHost, running_host

_exporter: InMemorySpanExporter | None = None


@pytest.fixture
def spans() -> Iterator[Callable[[], list[ReadableSpan]]]:
    """``spans()``: every span ended so far in this test, oldest first."""
    global _exporter
    if _exporter is None:
        _exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
    exporter = _exporter
    exporter.clear()
    yield lambda: list(exporter.get_finished_spans())
    exporter.clear()


@pytest.fixture
def traced(spans: Any) -> Iterator[Callable[..., RunningHost]]:
    """``traced(*plugins, otel=True, **config)``: a real host with snakepit-otel (enabled unless otel=False)."""
    contexts: list[Any] = []

    def start(*plugins: object, otel: bool = True, **config: Any) -> RunningHost:
        options = {"otel": otel, **config.pop("options", {})}
        context = running_host(snakepit_otel.plugin, *plugins, options=options, **config)
        contexts.append(context)
        return context.__enter__()

    yield start
    while contexts:
        contexts.pop().__exit__(None, None, None)
