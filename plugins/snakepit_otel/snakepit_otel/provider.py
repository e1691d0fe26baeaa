"""Where spans go: the process's tracer provider, or one made from the standard ``OTEL_*`` variables.

If the process already has a tracer provider (``opentelemetry-instrument``,
or an embedding application that set one), that one is used as it is.
Otherwise an SDK provider is made and installed globally, so spans that user
code or instrumented libraries open inside a call join the call's trace:

* ``OTEL_TRACES_EXPORTER``: comma-separated ``otlp`` (the default; OTLP over
  HTTP/protobuf, from the ``otlp`` extra), ``console`` (one JSON span per
  line on stderr: stdout is Snakepit's readiness line) or ``none``;
* ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, ``..._HEADERS``, ``..._TIMEOUT``,
  ``..._COMPRESSION``, ``..._CERTIFICATE``, ``OTEL_BSP_*``, the sampler
  (``OTEL_TRACES_SAMPLER(_ARG)``), ``OTEL_SDK_DISABLED`` and the span limits:
  read by the SDK itself;
* the resource: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, else
  Snakepit's own worker's defaults (``SNAKEPIT_SERVICE_NAME`` or
  ``snakepit.python.bridge``, ``service.namespace=snakepit``,
  ``service.instance.id`` = ``SNAKEPIT_INSTANCE_ID`` or a fresh id);
* ``SNAKEPIT_OTEL_ENDPOINT``, the full traces URL Snakepit's worker reads,
  when no ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter

    from snakepit_host import Host

EXPORTERS = ("otlp", "console", "none")
DEFAULT_SERVICE_NAME = "snakepit.python.bridge"


class Provider:
    """The tracer provider in use, whether this plugin made it, and the exporters it chose."""

    def __init__(self, provider: trace.TracerProvider, owned: bool, exporters: list[str]) -> None:
        self.provider = provider
        self.owned = owned
        self.exporters = exporters

    def shutdown(self) -> None:
        """Flush and stop a provider this plugin made (one the process made is the process's to stop)."""
        if self.owned:
            self.provider.shutdown()  # type: ignore[attr-defined]


def provider_for(host: Host, environ: Mapping[str, str] = os.environ) -> Provider:
    """The process's provider if it has one, else a new SDK provider, installed globally."""
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return Provider(current, owned=False, exporters=["the process's own tracer provider"])
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    names = exporter_names(environ)
    exporters = [exporter(name, environ) for name in names if name != "none"]
    provider = TracerProvider(resource=resource(host, environ))
    for chosen in exporters:
        provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    return Provider(provider, owned=True, exporters=names)


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}, which snakepit-otel does not provide "
            f"(choose from {', '.join(EXPORTERS)})"
        )
    return names or ["otlp"]


def exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol.strip().lower() != "http/protobuf":
        raise ValueError(f"OTLP protocol {protocol!r} is not supported by snakepit-otel: use http/protobuf")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ValueError(
            "OTEL_TRACES_EXPORTER=otlp (the default) needs the OTLP exporter: pip install 'snakepit-otel[otlp]', "
            "or set OTEL_TRACES_EXPORTER=console or none"
        ) from None
    arguments: dict[str, Any] = {}
    fallback = environ.get("SNAKEPIT_OTEL_ENDPOINT")
    if fallback and not (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        arguments["endpoint"] = fallback
    return OTLPSpanExporter(**arguments)


def resource(host: Host, environ: Mapping[str, str]) -> Resource:
    """Snakepit's worker's resource attributes where ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES`` are silent."""
    from opentelemetry.sdk.resources import Resource

    given = {part.split("=", 1)[0].strip() for part in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")}
    defaults: dict[str, Any] = {
        "service.namespace": "snakepit",
        "service.instance.id": environ.get("SNAKEPIT_INSTANCE_ID") or uuid.uuid4().hex,
        "service.version": host.version,
    }
    if not environ.get("OTEL_SERVICE_NAME"):
        defaults["service.name"] = environ.get("SNAKEPIT_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    if host.config.run_id:
        defaults["snakepit.run_id"] = host.config.run_id
    return Resource.create({key: value for key, value in defaults.items() if key not in given})
