"""Fixtures for the example's tests, built on snakepit-host's pytest kit (``snakepit_host.testing``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import snakepit_example.plugin as example_plugin

from snakepit_host.testing import RunningHost


@pytest.fixture
def example_host(snakepit_host_factory: Callable[..., RunningHost]) -> RunningHost:
    """A real gRPC server on 127.0.0.1 with only the built-ins and this plugin (no snakepit-tools)."""
    return snakepit_host_factory(example_plugin)
