"""Stand-in for 0.13's telemetry package: no backend, so every event is dropped."""

from contextlib import contextmanager

EMITTED = []


def is_enabled() -> bool:
    return False


def emit(event, measurements, metadata=None, correlation_id=None) -> None:
    EMITTED.append(event)


@contextmanager
def span(operation, metadata=None, correlation_id=None):
    emit(f"{operation}.start", {})
    yield
    emit(f"{operation}.stop", {})


def get_correlation_id(default=None):
    return default
