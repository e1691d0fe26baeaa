"""Errors with a gRPC status attached.

Handlers raise these to say *what* went wrong in words a caller can act on;
the server turns them into ``success=false`` responses (ExecuteTool) or into
the matching gRPC status (plugin RPCs such as GetVariable). The status is a
plain string so that this module stays free of grpc imports.
"""

from __future__ import annotations


class SnakepitError(Exception):
    """Base class; ``status`` names the gRPC status code for RPC answers."""

    status = "INTERNAL"


class InvalidArgument(SnakepitError):
    """The request is malformed or a value breaks a rule."""

    status = "INVALID_ARGUMENT"


class DecodeError(InvalidArgument):
    """A value from the wire could not be decoded."""


class EncodeError(SnakepitError):
    """A result could not be encoded for the wire."""


class NotFound(SnakepitError):
    """A named thing (command, session, variable, program...) does not exist."""

    status = "NOT_FOUND"


class AlreadyExists(SnakepitError):
    status = "ALREADY_EXISTS"


class Conflict(SnakepitError):
    """An optimistic-concurrency check failed; nothing was changed."""

    status = "ABORTED"


class FailedPrecondition(SnakepitError):
    """The call is valid but the state does not allow it (e.g. no LM configured)."""

    status = "FAILED_PRECONDITION"


class Unavailable(SnakepitError):
    """A dependency, usually the Elixir side, cannot be reached."""

    status = "UNAVAILABLE"


class DeadlineExceeded(SnakepitError):
    status = "DEADLINE_EXCEEDED"


class PermissionDenied(SnakepitError):
    """The call asks for something the host refuses to do on principle."""

    status = "PERMISSION_DENIED"


class Unimplemented(SnakepitError):
    status = "UNIMPLEMENTED"


class RegistrationError(SnakepitError):
    """A plugin registered something invalid or colliding; the plugin is not loaded."""


class VerbatimError(SnakepitError):
    """An error whose message is already in the form the caller expects: it is sent unchanged.

    For handlers that speak another server's error convention (snakepit-adapters
    reproduces Snakepit's own ``str(exc)`` and JSON errors). ExecuteTool answers
    ``success=false`` with exactly this ``error_message`` (no type prefix, no JSON
    wrapping whatever ``--error-format`` says); ExecuteStreamingTool aborts with
    ``status`` and exactly this message, also after chunks were sent. ``error_type``
    goes to the response metadata.
    """

    def __init__(self, message: str, *, status: str = "INTERNAL", error_type: str = "Exception") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


# Status of exceptions that do not derive from SnakepitError, by class.
_BUILTIN_STATUS: tuple[tuple[type[BaseException], str], ...] = (
    (FileNotFoundError, "NOT_FOUND"),
    (PermissionError, "PERMISSION_DENIED"),
    (TimeoutError, "DEADLINE_EXCEEDED"),
    (NotImplementedError, "UNIMPLEMENTED"),
    (KeyError, "NOT_FOUND"),
    (ValueError, "INVALID_ARGUMENT"),
    (TypeError, "INVALID_ARGUMENT"),
)


def status_of(exc: BaseException) -> str:
    """The gRPC status name that best describes ``exc``."""
    if isinstance(exc, SnakepitError):
        return exc.status
    for cls, status in _BUILTIN_STATUS:
        if isinstance(exc, cls):
            return status
    return "INTERNAL"


def describe_exception(exc: BaseException) -> str:
    """One line for a caller: our own errors as written, others prefixed by their type."""
    if isinstance(exc, SnakepitError):
        return str(exc) or type(exc).__name__
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ResourceExhausted(SnakepitError):
    """A configured limit (sessions, queue length, message size) was reached."""

    status = "RESOURCE_EXHAUSTED"
