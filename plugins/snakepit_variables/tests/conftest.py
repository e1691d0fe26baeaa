"""Fixtures: a real host with the variables plugin on 127.0.0.1 (helpers live in snakepit_variables.testing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import snakepit_variables.plugin as variables_plugin
from snakepit_variables.testing import VariableRpcs

from snakepit_host.testing import RunningHost, running_host

SESSION = "s1"


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
