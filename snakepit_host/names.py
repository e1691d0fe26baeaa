"""Checks for caller-chosen keys (session ids, program ids, ...).

These keys only ever index in-memory tables, but they also appear in logs,
errors and, in other people's plugins, perhaps in file names. So the rule is
the same everywhere: a short printable string that does not look like a
path reaching outside its folder.
"""

from __future__ import annotations

import re

from snakepit_host.errors import InvalidArgument

_TRAVERSAL = re.compile(r"(^|[/\\])\.\.([/\\]|$)")


def check_key(kind: str, value: object, max_length: int = 256) -> str:
    """``value`` if it is an acceptable ``kind`` (e.g. "session id"); InvalidArgument saying why not."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{kind} must be a non-empty string, got {value!r:.60}")
    if len(value) > max_length:
        raise InvalidArgument(f"{kind} is longer than {max_length} characters ({value[:40]!r}...)")
    if not value.isprintable():
        raise InvalidArgument(f"{kind} {value[:60]!r} contains control characters")
    if value.startswith(("/", "\\")) or _TRAVERSAL.search(value):
        raise InvalidArgument(f"{kind} {value[:60]!r} looks like a file path ('..' or a leading slash)")
    return value
