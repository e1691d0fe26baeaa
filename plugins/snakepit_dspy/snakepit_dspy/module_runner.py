"""Running a DSPy module for one call: its LM in ``dspy.context``, errors in plain words, JSON out.

``dspy.context`` scopes the LM to the current thread (and async task) for
the duration of the call; ``dspy.configure`` is never used, so sessions
served concurrently by the host's threads never see each other's LM.

DSPy's call history is off for these calls: DSPy keeps up to 10 000 prompts
and responses in a process-wide list (and as many per LM object), which in
a long-lived worker would hold every session's prompts in memory, readable
across sessions; nothing here reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.lm_spans import lm_span_settings
from snakepit_dspy.lmconfig import redact
from snakepit_dspy.scripted import exhausted_in
from snakepit_host import FailedPrecondition, SnakepitError, Unavailable

T = TypeVar("T")


@contextmanager
def using_lm(lm: Any) -> Iterator[None]:
    """Run the body with ``lm`` as DSPy's LM; DSPy failures come out as clear host errors.

    For the scripted dummy LM, ChatAdapter's fallback to JSONAdapter is off:
    the fallback would ask the LM again, silently spending the next scripted
    answer on a retry, and report the JSON parser's error instead of the real one.
    """
    settings: dict[str, Any] = {"lm": lm, "disable_history": True, **lm_span_settings()}
    if isinstance(lm, dspy.utils.DummyLM):
        settings["adapter"] = dspy.ChatAdapter(use_json_adapter_fallback=False)
    try:
        with dspy.context(**settings):
            yield
    except SnakepitError:
        raise
    except Exception as exc:
        raise explain(exc, lm) from None


def call_with_lm(lm: Any, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with using_lm(lm):
        return function(*args, **kwargs)


def explain(exc: Exception, lm: Any) -> Exception:
    """A host error saying what went wrong, with any API key removed from the text."""
    exhausted = exhausted_in(exc)
    if exhausted is not None:
        return exhausted
    secret = (getattr(lm, "kwargs", None) or {}).get("api_key")
    text = redact(_first_line(exc), secret)
    if isinstance(exc, dspy.utils.exceptions.AdapterParseError):
        expected = ", ".join(exc.signature.output_fields)
        got = ", ".join(exc.parsed_result or ()) if isinstance(exc.parsed_result, dict) else "none"
        return FailedPrecondition(
            f"the LM's answer did not match the signature '{exc.signature.signature}': "
            f"expected output fields [{expected}], found [{got}]"
        )
    if isinstance(exc, dspy.utils.exceptions.LMError):
        return Unavailable(f"the LM call failed ({type(exc).__name__}): {text}")
    return SnakepitError(f"{type(exc).__name__}: {text}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def to_jsonable(value: Any) -> Any:
    """Predictions, examples, pydantic models and containers as plain JSON values."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (dspy.Prediction, dspy.Example)):
        return to_jsonable(value.toDict())
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return to_jsonable(model_dump(mode="json"))
    return repr(value)


def outputs_of(prediction: Any, signature: type[dspy.Signature]) -> dict[str, Any]:
    """The signature's output fields of a prediction, as JSON values."""
    return {name: to_jsonable(prediction.get(name)) for name in signature.output_fields}
