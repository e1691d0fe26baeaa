"""snakepit-host: a plugin host for the Python workers that Snakepit launches.

Importing this package loads no plugins and nothing heavy; plugins are
loaded once, by the command line (``snakepit-host serve``), or explicitly by
the testing kit.
"""

from __future__ import annotations

__version__ = "0.1.0"

from snakepit_host.codec import Result, StreamChunk, TypedBuffer
from snakepit_host.context import SessionContext
from snakepit_host.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SnakepitError,
    Unavailable,
)
from snakepit_host.hookspecs import HOOK_API_VERSION, hookimpl

__all__ = [
    "HOOK_API_VERSION",
    "Conflict",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Result",
    "SessionContext",
    "SnakepitError",
    "StreamChunk",
    "TypedBuffer",
    "Unavailable",
    "__version__",
    "hookimpl",
]
