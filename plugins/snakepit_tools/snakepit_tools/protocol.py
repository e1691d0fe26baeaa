"""What ``ctx.tools`` is, as a Protocol other plugins type against without importing the implementation.

A plugin that calls the session's tools writes ``tools: Tools = ctx.tools``
(importing :class:`Tools` under ``TYPE_CHECKING``), so its code is checked
against this face while snakepit-tools stays free to change
:class:`~snakepit_tools.session_tools.SessionTools`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class Tools(Protocol):
    """Call, list and hand out the session's Python and Elixir tools."""

    def call(self, name: str, /, **kwargs: Any) -> Any:
        """Call a Python or Elixir tool by name, through the host's whole call path."""
        ...

    async def acall(self, name: str, /, **kwargs: Any) -> Any:
        """:meth:`call` for ``async def`` code."""
        ...

    def stream(self, name: str, /, **kwargs: Any) -> Iterator[Any]:
        """The items of a streaming tool."""
        ...

    def list(self, language: str | None = None, tags: Iterable[str] | None = None) -> builtins.list[dict[str, Any]]:
        """Tools as dicts (name, description, parameters, returns, language, streaming, tags, owner)."""
        ...

    def elixir(self) -> builtins.list[dict[str, Any]]:
        """The session's Elixir tools."""
        ...

    def describe(self, name: str) -> dict[str, Any]: ...

    def callables(self, language: str | None = None) -> builtins.list[Callable[..., Any]]:
        """Plain functions, one per tool, with a real signature and docstring (for agents)."""
        ...
