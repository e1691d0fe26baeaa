"""The StreamTelemetry RPC Snakepit 0.13 opens on every worker.

Elixir opens one bidirectional stream per worker, sends control messages
(toggle, sampling rate, allow/deny filters) and expects events named from
its catalog, with measurement keys it knows; it drops anything else. The
host reports tool calls (``tool.execution.start|stop|exception``) and
result sizes. Nothing is recorded while no stream is open, so the cost on
the call path is one attribute check.

Each stream has a bounded queue: when Elixir reads too slowly, new events
are dropped (and counted) rather than buffered without bound.
"""

from __future__ import annotations

import fnmatch
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from snakepit_host.proto import snakepit_bridge_pb2 as pb

if TYPE_CHECKING:
    import grpc

QUEUE_LIMIT = 1024
POLL_SECONDS = 0.25
CATALOG = frozenset(
    {
        "python.call.start",
        "python.call.stop",
        "python.call.exception",
        "tool.execution.start",
        "tool.execution.stop",
        "tool.execution.exception",
        "tool.result_size",
    }
)
"""Event names Snakepit 0.13 accepts from Python (and this host emits)."""

Measurement = int | float | str
PendingEvent = tuple[str, Mapping[str, Measurement], Mapping[str, str], str, int]
"""An event not yet built: name, measurements, metadata, correlation id, wall-clock time in ns."""


class _Stream:
    """One open StreamTelemetry call: its settings, queue and drop count."""

    def __init__(self) -> None:
        self.enabled = True
        self.sampling_rate = 1.0
        self.allow: list[str] = []
        self.deny: list[str] = []
        self.events: queue.Queue[tuple[pb.TelemetryEvent, ...]] = queue.Queue(maxsize=QUEUE_LIMIT)
        """Batches of events (a call's events travel together: one hand-off to the sender per call)."""
        self.dropped = 0
        self.broken = False
        """The control side failed (an undecodable message): the stream ends."""

    def apply(self, control: pb.TelemetryControl) -> None:
        which = control.WhichOneof("control")
        if which == "toggle":
            self.enabled = control.toggle.enabled
        elif which == "sampling":
            self.sampling_rate = min(1.0, max(0.0, control.sampling.sampling_rate))
        elif which == "filter":
            self.allow = list(control.filter.allow)
            self.deny = list(control.filter.deny)

    def wants(self, name: str) -> bool:
        if not self.enabled:
            return False
        if self.sampling_rate < 1.0:
            import random  # only a sampled stream needs it (random costs a worker's start-up ~1 ms)

            if random.random() >= self.sampling_rate:
                return False
        if self.allow and not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allow):
            return False
        return not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.deny)

    def offer(self, batch: tuple[pb.TelemetryEvent, ...]) -> None:
        try:
            self.events.put_nowait(batch)
        except queue.Full:
            self.dropped += len(batch)


class TelemetryHub:
    """Fans events out to the open StreamTelemetry calls."""

    def __init__(self) -> None:
        self._streams: list[_Stream] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._streams)

    def describe(self) -> dict[str, Any]:
        streams = self._streams
        return {"streams": len(streams), "dropped_events": sum(s.dropped for s in streams)}

    def emit(
        self,
        name: str,
        measurements: Mapping[str, Measurement],
        metadata: Mapping[str, str] | None = None,
        correlation_id: str = "",
    ) -> None:
        """Send an event to every stream that wants it; a no-op while none is open."""
        if self._streams:
            self.emit_batch(((name, measurements, metadata or {}, correlation_id, time.time_ns()),))

    def emit_batch(self, events: Sequence[PendingEvent]) -> None:
        """Several events, each ``(name, measurements, metadata, correlation_id, timestamp_ns)``, in one hand-off.

        Each open stream gets the ones it wants as one batch: its sender
        wakes once for them, not once per event.
        """
        streams = self._streams
        if not streams:
            return
        built: dict[int, pb.TelemetryEvent] = {}
        for stream in streams:
            batch = []
            for index, pending in enumerate(events):
                if not stream.wants(pending[0]):
                    continue
                event = built.get(index)
                if event is None:
                    event = built[index] = _event(*pending)
                batch.append(event)
            if batch:
                stream.offer(tuple(batch))

    def serve(
        self, controls: Iterator[pb.TelemetryControl], context: grpc.ServicerContext, stopping: Callable[[], bool]
    ) -> Iterator[pb.TelemetryEvent]:
        """The body of StreamTelemetry: headers at once, then events until the call ends or ``stopping()``."""
        context.send_initial_metadata(())  # Elixir waits for headers before it sends controls
        stream = _Stream()
        with self._lock:
            self._streams = [*self._streams, stream]
        reader = threading.Thread(
            target=_read_controls, args=(controls, stream), daemon=True, name="snakepit-telemetry"
        )
        reader.start()
        try:
            while context.is_active() and not stopping() and not stream.broken:
                try:
                    batch = stream.events.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                yield from batch
        finally:
            with self._lock:
                self._streams = [s for s in self._streams if s is not stream]


def _read_controls(controls: Iterator[pb.TelemetryControl], stream: _Stream) -> None:
    """Apply controls as they come. A client that half-closes keeps receiving events."""
    try:
        for control in controls:
            stream.apply(control)
    except Exception:  # cancelled, gone, or sent something that does not decode
        stream.broken = True


def _event(
    name: str,
    measurements: Mapping[str, Measurement],
    metadata: Mapping[str, str],
    correlation_id: str,
    timestamp_ns: int,
) -> pb.TelemetryEvent:
    event = pb.TelemetryEvent(
        event_parts=name.split("."),
        metadata=metadata,
        timestamp_ns=timestamp_ns,
        correlation_id=correlation_id,
    )
    for key, value in measurements.items():
        target = event.measurements[key]
        if isinstance(value, int):  # bool included: Snakepit wants booleans as integers
            target.int_value = int(value)
        elif isinstance(value, float):
            target.float_value = value
        else:
            target.string_value = str(value)
    return event
