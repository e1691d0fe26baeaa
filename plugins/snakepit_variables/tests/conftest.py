"""Fixtures: a real host with the variables plugin on 127.0.0.1 (helpers live in snakepit_variables.testing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import snakepit_variables.plugin as variables_plugin
from snakepit_variables.redis_testing import redis_server
from snakepit_variables.testing import VariableRpcs

from snakepit_host.testing import RunningHost, running_host

SESSION = "s1"
__all__ = ["redis_server"]  # a fixture


@pytest.fixture
def running() -> Iterator[RunningHost]:
    with running_host(variables_plugin) as handle:
        yield handle


@pytest.fixture
def stub(running: RunningHost) -> Any:
    return running.client().stub


@pytest.fixture
def variables(stub: Any) -> VariableRpcs:
    return VariableRpcs(stub, SESSION)


@pytest.fixture(params=["sqlite", "redis"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Options choosing a fresh shared store: a new sqlite file, or a new key prefix on the test Redis."""
    if request.param == "sqlite":
        return {"variables_store": "sqlite", "variables_sqlite_path": str(tmp_path / "variables.sqlite3")}
    server = request.getfixturevalue("redis_server")
    return {"variables_store": "redis", "variables_redis_url": server.url, "variables_redis_prefix": tmp_path.name}
