"""Fixtures: real hosts serving Snakepit-style adapters against the stand-in ``snakepit_bridge`` packages.

The two stand-ins (tests/data/snakepit_v041, snakepit_v013) are both called
``snakepit_bridge``, so a test makes one of them importable for its duration
and everything imported from the test data is forgotten afterwards.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import snakepit_adapters.plugin as adapters_plugin

from snakepit_host.host_client import SnakepitClient
from snakepit_host.testing import RunningHost, running_host

DATA = Path(__file__).resolve().parent / "data"
ADAPTERS = DATA / "adapters"
PRIV_PYTHON = {"0.4": DATA / "snakepit_v041" / "priv" / "python", "0.13": DATA / "snakepit_v013" / "priv" / "python"}


@contextmanager
def importable(*folders: Path) -> Iterator[None]:
    """``folders`` first on ``sys.path``; afterwards, modules loaded from them are forgotten."""
    added = [str(folder) for folder in folders]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            sys.path.remove(entry)
        for name, module in list(sys.modules.items()):
            where = getattr(module, "__file__", None) or ""
            if any(where.startswith(entry) for entry in added) or name.split(".")[0] == "snakepit_bridge":
                del sys.modules[name]


@dataclass
class Served:
    """A running host serving one adapter, and the wire-level view of calls to it."""

    running: RunningHost
    client: SnakepitClient

    def execute(self, name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The raw ExecuteToolResponse."""
        return self.client.stub.ExecuteTool(self.client.request(name, params, **kwargs), timeout=30)

    def result(self, name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> tuple[str, Any]:
        """(type tag, JSON value) of a successful call, as Elixir reads them."""
        response = self.execute(name, params, **kwargs)
        assert response.success, response.error_message
        return response.result.type_url.rsplit(".", 1)[-1], json.loads(response.result.value)

    def error(self, name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """The ``error_message`` of a call that must fail."""
        response = self.execute(name, params, **kwargs)
        assert not response.success, f"{name} succeeded: {response.result.value!r}"
        return str(response.error_message)

    def chunks(self, name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> list[tuple[Any, ...]]:
        """Every ToolChunk of a stream as (chunk_id, data, is_final, metadata)."""
        request = self.client.request(name, params, stream=True, **kwargs)
        return [
            (c.chunk_id, c.data, c.is_final, dict(c.metadata))
            for c in self.client.stub.ExecuteStreamingTool(request, timeout=30)
        ]

    def listing(self) -> dict[str, dict[str, Any]]:
        return {record["name"]: record for record in self.running.host.plugins.listing()}


Serve = Callable[..., Served]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(spec, *plugins, version="0.13", **config)``: a host serving the adapter ``spec``.

    The stand-in ``priv/python`` of ``version`` and the test adapters are importable
    while the host runs; snakepit-adapters is loaded, then ``plugins``.
    """
    with ExitStack() as stack:

        def start(spec: str, *plugins: object, version: str = "0.13", **config: Any) -> Served:
            stack.enter_context(importable(PRIV_PYTHON[version], ADAPTERS))
            running = stack.enter_context(running_host(adapters_plugin, *plugins, adapter=spec, **config))
            return Served(running, running.client())

        yield start
