"""Where DSPy state lives: per session, plus one host-wide default LM.

Nothing here imports ``dspy`` (``check_dspy`` reads this without it). A
session's state is dropped with the session (``session.state``); so are the
instances ``call_dspy`` stored (:mod:`snakepit_dspy.instances`). The host
default lives in ``host.state("dspy", ...)``, so several in-process hosts
(tests) never share it, and ``describe`` shows its status.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host import Host, SessionContext


@dataclass(frozen=True)
class LMConfig:
    """A configured LM: the DSPy LM object plus what may be shown about it.

    The API key (if any) is kept only inside ``lm`` and ``api_key`` (hidden
    from ``repr``); :meth:`describe` says where it came from, never what it is.
    """

    model: str
    settings: dict[str, Any]
    lm: Any
    key_source: str
    scope: str
    api_key: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)
    """Non-secret construction arguments (api_base, cache, num_retries), kept to rebuild for another model."""

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"model": self.model, "scope": self.scope, "settings": dict(self.settings)}
        info["api_key"] = self.key_source
        remaining = getattr(getattr(self.lm, "answers", None), "remaining", None)
        if remaining is not None:
            info["answers_remaining"] = remaining
        return info


class DSPySession:
    """One session's LM, setting bindings and programs."""

    def __init__(self) -> None:
        self.lm: LMConfig | None = None
        self.setting_bindings: dict[str, str] = {}
        """LM setting -> session variable read at every call."""
        self.programs: dict[str, Any] = {}
        """program id -> :class:`snakepit_dspy.programs.Program`."""
        self.lock = threading.RLock()


def session_state(ctx: SessionContext) -> DSPySession:
    return ctx.session.state("dspy", DSPySession)


STATE_KEY = "dspy"


class DSPyHost:
    """The host-wide part: the default LM (the operator's ``--dspy-default-lm``, or a caller's if allowed)."""

    def __init__(self) -> None:
        self.default_lm: LMConfig | None = None
        self.lock = threading.Lock()

    def status(self) -> dict[str, Any]:
        """What ``describe`` shows; DSPy's version only once a command has imported it (this never does)."""
        dspy = sys.modules.get("dspy")
        return {
            "dspy_version": getattr(dspy, "__version__", None),
            "default_lm": self.default_lm.model if self.default_lm else None,
        }


def dspy_host(host: Host) -> DSPyHost:
    return host.state(STATE_KEY, DSPyHost)
