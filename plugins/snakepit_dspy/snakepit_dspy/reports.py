"""Commands that report state: ``check_dspy``, ``get_stats``, ``get_settings``.

They answer even when DSPy is missing or broken: DSPy is imported inside
the call (the first DSPy command imports it anyway), and a failure to import
it is part of the answer, not a failed call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_dspy.instances import session_instances
from snakepit_dspy.replies import answers
from snakepit_dspy.session_state import session_state
from snakepit_host import FailedPrecondition

if TYPE_CHECKING:
    from snakepit_dspy.session_state import LMConfig
    from snakepit_host import SessionContext


def _dspy() -> tuple[Any, str | None]:
    """The dspy module, or None and why it does not import."""
    try:
        from snakepit_dspy.dspy_import import dspy
    except Exception as exc:  # report any import failure instead of failing the call
        return None, f"{type(exc).__name__}: {exc}"
    return dspy, None


def _lms(ctx: SessionContext) -> tuple[LMConfig | None, LMConfig | None]:
    """The LM this session would use and the host-wide default (DSPy must be importable)."""
    from snakepit_dspy.lmconfig import active_config, default_config

    return active_config(ctx), default_config(ctx.host)


def check_dspy(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Whether dspy imports, its version, and the LM this session would use."""
    dspy, error = _dspy()
    if dspy is None:
        return {"success": False, "available": False, "error": error, "lm": None, "default_lm": None}
    config, default = _lms(ctx)
    return {
        "success": True,
        "available": True,
        "version": dspy.__version__,
        "lm": config.describe() if config else None,
        "default_lm": default.describe() if default else None,
    }


@answers
def get_stats(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    dspy, _ = _dspy()
    state = session_state(ctx)
    config = _lms(ctx)[0] if dspy is not None else state.lm
    programs = sorted(state.programs)
    stored = session_instances(ctx).listing()
    return {
        "stats": {
            "dspy_available": dspy is not None,
            "dspy_version": dspy.__version__ if dspy is not None else None,
            "programs_count": len(programs),
            "programs": programs,
            "stored_objects_count": len(stored),
            "has_lm": state.lm is not None,
            "has_configured_lm": config is not None,
            "lm": config.model if config else None,
        }
    }


@answers
def get_settings(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """The session's view: DSPy's own settings are never changed here (each call runs in ``dspy.context``)."""
    dspy, error = _dspy()
    if dspy is None:
        raise FailedPrecondition(f"DSPy not available: {error}")
    config = _lms(ctx)[0]
    return {
        "lm": config.model if config else None,
        "lm_scope": config.scope if config else None,
        "rm": None,
        "trace": None,
    }
