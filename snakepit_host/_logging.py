"""The host's logging: one stderr handler on the root logger, at a level that was checked.

stdout is the readiness line's (Snakepit 0.4 reads it); everything logged,
by the host, by any plugin and by user code, goes to stderr. Level names are
the ones Snakepit 0.13 puts into ``SNAKEPIT_LOG_LEVEL`` (``debug``, ``info``,
``warning``, ``error``, ``none``) plus ``warn`` and ``critical``; anything
else is refused rather than quietly read as ``info``.
"""

from __future__ import annotations

import logging
import sys

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}
DOCUMENTED_LEVELS = ("debug", "info", "warning", "error", "none")

QUIET_LOGGERS = ("asyncio", "grpc", "httpcore", "httpx", "urllib3", "openai", "LiteLLM", "litellm", "filelock")
"""Libraries that log every request at INFO: kept at WARNING whatever the level, so plugins' logs stay readable."""

_HANDLER_NAME = "snakepit-host-stderr"


def log_level(name: str) -> str:
    """``name`` as a level name (lower case, surrounding blanks dropped); ValueError saying what is accepted."""
    level = name.strip().lower()
    if level not in LEVELS:
        from snakepit_host._names import did_you_mean

        raise ValueError(
            f"{name!r} is not a log level{did_you_mean(level, DOCUMENTED_LEVELS, most=1)} "
            f"(choose from {', '.join(DOCUMENTED_LEVELS)})"
        )
    return level


def configure_logging(level: str, log_format: str = "text") -> None:
    """Logs of the host, every plugin and user code go to stderr at ``level`` (a name :func:`log_level` accepts).

    One handler on the root logger, so a third-party plugin's ``logging.getLogger(__name__)`` is
    heard without any setup. A handler installed here before is replaced; other handlers (pytest's)
    are left alone. ``log_format`` is ``text`` or ``json`` (one object per line); every record is
    stamped with the call it was written for (:mod:`snakepit_host._log_records`).
    """
    from snakepit_host._log_records import formatter, stamp_records

    numeric = LEVELS[log_level(level)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    stamp_records()
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(numeric)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
