"""A child span per LM call, when the call is traced (snakepit-otel); nothing at all otherwise.

DSPy announces each LM call to the callbacks in its settings. When the
current call is traced, :func:`lm_span_settings` adds one that opens a
``snakepit_host.span`` around each LM call (OpenTelemetry's GenAI names:
``chat <model>``, ``gen_ai.request.model``, ``gen_ai.operation.name``).
Untraced, it adds nothing: with any callback present DSPy does work on every
module and adapter call, so none is installed unless a trace wants it.
"""

from __future__ import annotations

from typing import Any

from snakepit_dspy.dspy_import import dspy
from snakepit_host import span, tracing


class LMSpans(dspy.utils.callback.BaseCallback):  # type: ignore[misc]
    """Opens a span as DSPy starts an LM call and ends it with the call (by DSPy's call id)."""

    def __init__(self) -> None:
        self.open: dict[str, Any] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        model = str(getattr(instance, "model", "") or "unknown")
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "snakepit.lm": type(instance).__name__,
        }
        opened = span(f"chat {model}", attributes, kind="client")
        opened.__enter__()
        self.open[call_id] = opened

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        opened = self.open.pop(call_id, None)
        if opened is not None:
            opened.__exit__(
                type(exception) if exception else None, exception, exception.__traceback__ if exception else None
            )


def lm_span_settings() -> dict[str, Any]:
    """What to add to ``dspy.context`` for this call: a span per LM call when it is traced, else nothing."""
    if not tracing():
        return {}
    return {"callbacks": [*dspy.settings.get("callbacks", []), LMSpans()]}
