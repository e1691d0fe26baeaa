"""Test helpers for snakepit-dspy and for plugins built on it (no dspy import here).

``Caller`` binds a :class:`~snakepit_host.SnakepitClient` to one
session, so a test reads like the calls Elixir makes::

    session = Caller(running.client(), "s1")
    session.dummy({"answer": "Paris"})
    session("enhanced_predict", signature="question -> answer", question="...")

``fails`` returns the error of a call that fails (the richer forms); ``refuses``
the ``success: false`` answer of a call in the seed/DSPex form.
"""

from __future__ import annotations

from typing import Any

from snakepit_host import RemoteError, SnakepitClient


class Caller:
    """A client bound to one session, with helpers for scripted LMs and expected failures."""

    def __init__(self, client: SnakepitClient, session_id: str) -> None:
        self.client = client
        self.session_id = session_id

    def __call__(self, command: str, /, **params: Any) -> Any:
        return self.client.call(command, params, session_id=self.session_id)

    def fails(self, command: str, /, **params: Any) -> RemoteError:
        """The RemoteError the call raises; AssertionError if it succeeds."""
        try:
            result = self.client.call(command, params, session_id=self.session_id)
        except RemoteError as exc:
            return exc
        raise AssertionError(f"{command} succeeded unexpectedly: {result!r:.300}")

    def refuses(self, command: str, /, **params: Any) -> dict[str, Any]:
        """The ``success: false`` answer of a seed/DSPex-form call; AssertionError if it succeeds or the call fails."""
        result: dict[str, Any] = self.client.call(command, params, session_id=self.session_id)
        if result.get("success") is not False or not isinstance(result.get("error"), str):
            raise AssertionError(f"{command} did not answer success: false: {result!r:.300}")
        return result

    def stream(self, command: str, /, **params: Any) -> list[Any]:
        return list(self.client.stream(command, params, session_id=self.session_id))

    def dummy(self, *answers: dict[str, Any], **settings: Any) -> dict[str, Any]:
        """Configure the session's scripted LM with these answers, in order."""
        result: dict[str, Any] = self("configure_lm", model="dummy", answers=list(answers), **settings)
        return result
