"""snakepit-otel's hooks (the ``otel`` entry point): the ``--otel`` option and the tracing observer.

Imports only the host: OpenTelemetry is imported by :func:`tracing_observer`,
and only when the option is on. Off, the plugin registers an observer
factory that answers ``None``, and the call path does no tracing work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_host import Host, OptionRegistrar, Registrar
    from snakepit_otel.tracing import Tracing

STATE_KEY = "otel"
"""The tracer's ``host.state`` key (``describe`` shows its status under it)."""


@hookimpl
def register_options(register: OptionRegistrar) -> None:
    register.option(
        "otel",
        type=bool,
        default=False,
        env="SNAKEPIT_OTEL",
        help="trace every call with OpenTelemetry; OTEL_TRACES_EXPORTER (otlp, console, none) and the other "
        "standard OTEL_* variables choose where spans go",
    )


@hookimpl
def register_call_observers(register: Registrar) -> None:
    register.call_observer("tracing", tracing_observer)


def tracing_observer(host: Host) -> Tracing | None:
    """The host's tracer when ``--otel`` is on (OpenTelemetry imported here), else None."""
    if not host.option("otel"):
        return None
    from snakepit_otel.tracing import Tracing

    return host.state(STATE_KEY, lambda: Tracing.start(host))


@hookimpl
def host_stopping(host: Host) -> None:
    """Export what is still queued before the worker exits (within the shutdown grace period)."""
    tracing = host.pop_state(STATE_KEY)
    if tracing is not None:
        tracing.shutdown()
