"""``check_dspy``: answers even when DSPy is missing or broken (it imports dspy inside the call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_dspy.session_state import active_lm, default_lm

if TYPE_CHECKING:
    from snakepit_host import SessionContext


def check_dspy(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Whether dspy imports, its version, and the LM this session would use."""
    try:
        from snakepit_dspy.dspy_import import dspy
    except Exception as exc:  # report any import failure instead of failing the call
        return {"available": False, "error": f"{type(exc).__name__}: {exc}", "lm": None, "default_lm": None}
    config, default = active_lm(ctx), default_lm(ctx.host)
    return {
        "available": True,
        "version": dspy.__version__,
        "lm": config.describe() if config else None,
        "default_lm": default.describe() if default else None,
    }
