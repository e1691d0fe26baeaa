"""String ``pattern`` constraints, matched in time linear in the value with RE2.

Python's ``re`` backtracks: ``^(a+)+$`` against 27 ``a`` and a ``!`` takes
seconds, doubling with each character, and holds the GIL all along, so one
write would freeze every call of the worker (health checks included) and
no timeout could stop it. RE2 (the ``google-re2`` package) never
backtracks, whatever the pattern. What needs backtracking it cannot run:
backreferences, lookahead and lookbehind, atomic groups, possessive
quantifiers, conditionals. Such patterns are refused when the variable is
registered, with a message naming the feature. RE2 is imported on the
first pattern constraint, not when the worker starts.
"""

from __future__ import annotations

import functools
from typing import Any

_FEATURES = {
    **{f"invalid escape sequence: \\{digit}": "a backreference (\\1 ... \\9)" for digit in "123456789"},
    "invalid escape sequence: \\k": "a named backreference (\\k<name>)",
    "invalid escape sequence: \\Z": "\\Z (write \\z for the end of the text)",
    "invalid perl operator: (?P": "a named backreference or recursion ((?P=name), (?P>name))",
    "invalid perl operator: (?=": "a lookahead ((?=...))",
    "invalid perl operator: (?!": "a negative lookahead ((?!...))",
    "invalid perl operator: (?<=": "a lookbehind ((?<=...))",
    "invalid perl operator: (?<!": "a negative lookbehind ((?<!...))",
    "invalid perl operator: (?>": "an atomic group ((?>...))",
    "invalid perl operator: (?(": "a conditional ((?(1)...))",
    "invalid perl operator: (?x": "verbose mode ((?x))",
}
"""RE2's complaint -> the feature it means (RE2 says only which operator it could not parse)."""


def _feature(reason: str) -> str | None:
    if reason.startswith("bad repetition operator: ") and reason.endswith("+"):
        return "a possessive quantifier (*+, ++, ?+, {n}+)"
    if reason.startswith("invalid repetition size"):
        return "a repetition count above 1000"
    if reason.startswith("pattern too large"):
        return "more states than the matcher's memory limit allows"
    return _FEATURES.get(reason)


class UnsupportedPattern(ValueError):
    """A pattern the linear-time matcher cannot run, or not a regular expression at all."""


def _re2() -> Any:
    try:
        import re2
    except ImportError:
        raise UnsupportedPattern(
            "needs the google-re2 package (a dependency of snakepit-variables), which is not installed"
        ) from None
    return re2


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """``pattern`` compiled by RE2; UnsupportedPattern saying which feature it cannot run."""
    re2 = _re2()
    options = re2.Options()
    options.log_errors = False  # RE2 would log every refused pattern to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if isinstance(exc.args[0], bytes) else str(exc)
    feature = _feature(reason)
    if feature is None:
        raise UnsupportedPattern(f"is not a valid regular expression: {reason}")
    raise UnsupportedPattern(f"uses {feature}, which the linear-time matcher (RE2) cannot run")


def contains_match(pattern: str, text: str) -> bool:
    """Whether ``text`` contains a match of ``pattern`` (Python's ``re.search`` semantics, in linear time)."""
    return compiled(pattern).search(text) is not None
