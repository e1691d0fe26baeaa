"""Fixtures: a real host serving snakepit-dspy, and sessions on it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

import pytest
import snakepit_dspy.plugin
from snakepit_dspy.testing import Caller

from snakepit_host.testing import RunningHost, running_host


def skip_unless_installed(*packages: str) -> None:
    """Skip the test unless snakepit-variables / snakepit-tools (by package name) are installed."""
    for package in packages:
        try:
            importlib.import_module(f"{package}.plugin")
        except ImportError as exc:
            pytest.skip(f"{package} is not installed ({exc})")


@pytest.fixture
def dspy_host() -> Iterator[RunningHost]:
    with running_host(snakepit_dspy.plugin) as handle:
        yield handle


@pytest.fixture
def session(dspy_host: RunningHost) -> Caller:
    return Caller(dspy_host.client(), "session-a")


@pytest.fixture
def open_session(dspy_host: RunningHost) -> Callable[[str], Caller]:
    """More sessions on the same host."""
    client = dspy_host.client()
    return lambda session_id: Caller(client, session_id)


@pytest.fixture
def variables_host() -> Iterator[RunningHost]:
    """The host with every installed plugin, as ``serve`` loads them (skipped without snakepit-variables)."""
    skip_unless_installed("snakepit_variables")
    with running_host(entry_points=True) as handle:
        yield handle


@pytest.fixture
def tools_installed() -> None:
    """Skip the test while snakepit-tools is not installed."""
    skip_unless_installed("snakepit_tools")
