"""Fixtures shared by the host's tests (helpers live in hostproc.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hostproc import HostProcess, host_processes
from snakepit_variables.redis_testing import redis_server


@pytest.fixture
def spawn_host() -> Iterator[Callable[..., HostProcess]]:
    """Start host subprocesses; any still running at teardown are killed."""
    with host_processes() as spawn:
        yield spawn


__all__ = ["redis_server"]  # a fixture: one real redis-server for the session
