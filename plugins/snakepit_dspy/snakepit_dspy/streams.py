"""Streaming commands (ExecuteStreamingTool): batch prediction and chain of thought.

The host checks the parameters against their schemas, and the handlers parse
the signature, before a generator is returned, so bad input fails the call
at once rather than after a first chunk. Chunks are
plain JSON objects with a ``type``; the host ends the stream with its empty
terminal chunk, which Snakepit 0.4.1 ignores and 0.13 delivers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from snakepit_dspy.commands import DEFAULT_SIGNATURE, PREDICTION_PARAMETERS, call_inputs, call_lm
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.lmconfig import lm_summary
from snakepit_dspy.module_runner import call_with_lm, outputs_of, to_jsonable
from snakepit_dspy.signatures import parse_signature, select_inputs
from snakepit_host import InvalidArgument

if TYPE_CHECKING:
    from snakepit_host import SessionContext


def stream_predict_batch(ctx: SessionContext, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One ``prediction`` (or per-item ``error``) chunk per item, then ``complete``.

    An item with wrong inputs gets an error chunk and the batch goes on; an
    LM failure (none configured, out of answers, provider down) ends the
    stream with that error, since every later item would fail the same way.
    """
    signature = parse_signature(params["signature"])
    items = params["items"]
    lm = call_lm(ctx)
    predictor = dspy.Predict(signature)

    def chunks() -> Iterator[dict[str, Any]]:
        failed = 0
        for index, item in enumerate(items):
            if ctx.cancelled:
                return
            try:
                if not isinstance(item, dict):
                    raise InvalidArgument(f"item must be an object of inputs, got {type(item).__name__}")
                inputs = select_inputs(signature, item, None)
            except InvalidArgument as exc:
                failed += 1
                yield {"type": "error", "index": index, "error": str(exc)}
                continue
            prediction = call_with_lm(lm, predictor, **inputs)
            yield {"type": "prediction", "index": index, "inputs": inputs, "outputs": outputs_of(prediction, signature)}
        yield {"type": "complete", "total": len(items), "succeeded": len(items) - failed, "failed": failed}

    return chunks()


def stream_chain_of_thought(ctx: SessionContext, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``thinking``, one ``reasoning_step`` per step of the reasoning, then ``final_answer``.

    The steps are the lines (or sentences) of the reasoning DSPy returned;
    the LM is called once, before the first step is sent.
    """
    signature = parse_signature(params.get("signature", DEFAULT_SIGNATURE))
    inputs = call_inputs(params, signature, PREDICTION_PARAMETERS[:2])
    lm = call_lm(ctx)

    def chunks() -> Iterator[dict[str, Any]]:
        yield {"type": "thinking", "signature": signature.signature, "inputs": inputs}
        prediction = call_with_lm(lm, dspy.ChainOfThought(signature), **inputs)
        reasoning = str(prediction.get("reasoning") or "")
        for index, step in enumerate(reasoning_steps(reasoning)):
            yield {"type": "reasoning_step", "index": index, "text": step}
        yield {
            "type": "final_answer",
            "outputs": outputs_of(prediction, signature),
            "reasoning": to_jsonable(reasoning),
            "lm": lm_summary(lm),
        }

    return chunks()


def reasoning_steps(reasoning: str) -> list[str]:
    """Lines of the reasoning; a single line is split into sentences."""
    lines = [line.strip() for line in reasoning.splitlines() if line.strip()]
    if len(lines) > 1:
        return lines
    return [s for s in re.split(r"(?<=[.!?])\s+", reasoning.strip()) if s]
