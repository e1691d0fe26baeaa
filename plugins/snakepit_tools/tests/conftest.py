"""Shared fixtures: a host serving snakepit-tools plus sample tools, and an Elixir stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import snakepit_tools.plugin as tools_plugin

from snakepit_host import hookimpl, testing
from snakepit_host.testing import RunningHost, running_host
from snakepit_host.testing.elixir_standin import ElixirStandIn


class ToolsFrom:
    """A plugin registering the given functions with ``register.tool`` (as a third party would)."""

    def __init__(self, *functions: Callable[..., Any], **options: Any) -> None:
        self.functions = functions
        self.options = options

    @hookimpl
    def register_tools(self, register: Any) -> None:
        for function in self.functions:
            register.tool(function, **self.options)


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningHost]]:
    """``serve(*plugins, **config)``: a real host on 127.0.0.1 with snakepit-tools loaded first."""
    contexts: list[Any] = []

    def start(*plugins: object, **config: Any) -> RunningHost:
        context = running_host(tools_plugin, *plugins, **config)
        contexts.append(context)
        return context.__enter__()

    yield start
    while contexts:
        contexts.pop().__exit__(None, None, None)


@pytest.fixture
def elixir(elixir_standin: ElixirStandIn) -> ElixirStandIn:
    return elixir_standin


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, what, timeout=10)``."""
    return testing.wait_until


@pytest.fixture
def tools_from() -> type[ToolsFrom]:
    """``tools_from(*functions, **register_tool_options)``: a plugin registering them."""
    return ToolsFrom
