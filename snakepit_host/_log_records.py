"""Every log record carries the call it was written for; text or JSON lines on stderr.

A log record factory, installed once per process, stamps each record with
``correlation_id``, ``command`` and ``session_id`` of the current call
(:func:`snakepit_host._calls.current_call`; ``"-"``, ``""`` and ``""``
outside calls), and with ``trace_id`` / ``span_id`` when the call is traced.
A factory rather than a filter: it stamps records of every logger and
for every handler (a plugin's own, pytest's, a queue handler that formats in
another thread), at the moment the record is made, in the call's thread.

Two formats for the host's stderr handler (``--log-format``, ``$SNAKEPIT_LOG_FORMAT``):

* ``text``: ``<time> <LEVEL> <logger> [corr=<id> cmd=<command> session=<id>]: <message>``
  (the bracket only inside a call; Snakepit's worker writes ``[corr=<id>]`` the same way);
* ``json``: one JSON object per line, for log shippers (see :class:`JsonFormatter`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from snakepit_host._calls import CURRENT, safe_text

LOG_FORMATS = ("text", "json")
NO_CORRELATION = "-"
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "correlation_id",
    "command",
    "session_id",
    "trace_id",
    "span_id",
    "taskName",
    "call",
}
"""What every record has; anything else on a record came from ``extra=`` and goes into the JSON line."""

_installed = False


def stamp_records() -> None:
    """Install the stamping record factory (once per process; the factory in place before is kept inside)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        call = CURRENT.get()
        if call is None:
            record.correlation_id = NO_CORRELATION
            record.command = record.session_id = ""
            return record
        record.correlation_id = call.correlation_id
        record.command = safe_text(call.command)
        record.session_id = safe_text(call.session_id)
        tracer = call.tracer
        if tracer is not None:
            ids = tracer.ids()
            if ids is not None:
                record.trace_id, record.span_id = ids
        return record

    logging.setLogRecordFactory(factory)


class TextFormatter(logging.Formatter):
    """The host's line format, with the call in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(call)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        correlation = getattr(record, "correlation_id", NO_CORRELATION)
        if correlation == NO_CORRELATION:
            record.call = ""
        else:
            command, session = getattr(record, "command", ""), getattr(record, "session_id", "")
            record.call = f" [corr={correlation} cmd={command} session={session}]"
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Keys: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
    ``message``, ``thread``, ``pid``; inside a call ``correlation_id``,
    ``command``, ``session_id`` (and ``trace_id``, ``span_id`` when traced);
    ``exception`` (the formatted traceback) when there is one; then whatever
    the caller passed with ``extra=`` (values JSON cannot hold as their ``repr``).
    """

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
            "pid": record.process,
        }
        correlation = getattr(record, "correlation_id", NO_CORRELATION)
        if correlation != NO_CORRELATION:
            line["correlation_id"] = correlation
            line["command"] = getattr(record, "command", "")
            line["session_id"] = getattr(record, "session_id", "")
            trace_id = getattr(record, "trace_id", None)
            if trace_id is not None:
                line["trace_id"] = trace_id
                line["span_id"] = getattr(record, "span_id", None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and key not in line:
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        return json.dumps(line, default=repr)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``text`` or ``json`` (ValueError naming the choices for anything else)."""
    name = log_format.strip().lower()
    if name == "json":
        return JsonFormatter()
    if name == "text":
        return TextFormatter()
    raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
