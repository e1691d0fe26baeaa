"""Rules for names: registered command and tool names, and caller-chosen keys (session ids, program ids, ...).

These keys only ever index in-memory tables, but they also appear in logs,
errors and, in other people's plugins, perhaps in file names. So the rule is
the same everywhere: a short printable string that does not look like a
path reaching outside its folder. A misspelt name gets the closest
correct ones in its error (:func:`did_you_mean`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from snakepit_host._errors import InvalidArgument, RegistrationError

# Same rule Snakepit 0.13's Elixir side applies to tool names, so that every
# command and tool can be announced to Elixir unchanged.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
MAX_NAME_BYTES = 64

_TRAVERSAL = re.compile(r"(^|[/\\])\.\.([/\\]|$)")


def check_key(kind: str, value: object, max_length: int = 256) -> str:
    """``value`` if it is an acceptable ``kind`` (e.g. "session id"); InvalidArgument saying why not."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{kind} must be a non-empty string, got {value!r:.60}")
    if len(value) > max_length:
        raise InvalidArgument(f"{kind} is longer than {max_length} characters ({value[:40]!r}...)")
    if not value.isprintable():
        raise InvalidArgument(f"{kind} {value[:60]!r} contains control characters")
    if value.startswith(("/", "\\")) or (".." in value and _TRAVERSAL.search(value)):
        raise InvalidArgument(f"{kind} {value[:60]!r} looks like a file path ('..' or a leading slash)")
    return value


def check_name(kind: str, name: object) -> str:
    """Validate a command or tool name; the error says which rule failed."""
    if not isinstance(name, str) or not name:
        raise RegistrationError(f"{kind} name must be a non-empty string, got {name!r}")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise RegistrationError(f"{kind} name {name!r} is longer than {MAX_NAME_BYTES} bytes")
    if not NAME_PATTERN.match(name):
        raise RegistrationError(
            f"{kind} name {name!r} must start with a letter or digit and contain only letters, digits, '_', '-' and '.'"
        )
    return name


def did_you_mean(word: str, candidates: Iterable[str], most: int = 3) -> str:
    """``"; did you mean x?"`` (or ``"x, y"``): the ``most`` candidates closest to ``word``; ``""`` if none is close.

    For error messages only: ``difflib`` is imported on that path.
    """
    import difflib

    close = difflib.get_close_matches(word, sorted(set(candidates)), n=most)
    return f"; did you mean {', '.join(close)}?" if close else ""
