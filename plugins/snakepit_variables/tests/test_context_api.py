"""``ctx.variables`` as other plugins use it, inside commands served by a real host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import snakepit_variables.plugin as variables_plugin
from snakepit_variables import BatchError, SessionVariables, Variable, variables_for

from snakepit_host import hookimpl
from snakepit_host._errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from snakepit_host.host_client import RemoteError
from snakepit_host.testing import RunningHost, running_host


class UsesVariables:
    """A third-party plugin reaching variables through ctx.variables."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("bump", self.bump)
        register.command("peek", lambda ctx, params: ctx.variables.get(params["name"], default="absent"))

    @staticmethod
    def bump(ctx: Any, params: dict[str, Any]) -> int:
        variables = ctx.variables
        if not variables.exists("counter"):
            variables.register("counter", "integer", 0, constraints={"min": 0}, description="calls so far")
        return int(variables.set("counter", variables.get("counter") + 1))


@pytest.fixture
def running() -> Iterator[RunningHost]:
    with running_host(variables_plugin, UsesVariables) as handle:
        yield handle


@pytest.fixture
def variables(running: RunningHost) -> SessionVariables:
    return variables_for(running.host, "api")


def test_commands_of_other_plugins_use_ctx_variables(running: RunningHost) -> None:
    client = running.client()
    assert [client.call("bump", {}, session_id="a") for _ in range(3)] == [1, 2, 3]
    assert client.call("peek", {"name": "counter"}, session_id="a") == 3
    assert client.call("peek", {"name": "counter"}, session_id="b") == "absent"  # per-session scope
    described = variables_for(running.host, "a").get_variable("counter")
    assert described.metadata["description"] == "calls so far" and described.source == "PYTHON"


def test_public_face(variables: SessionVariables) -> None:
    variable = variables.register("temperature", "float", 0.5, constraints={"max": 1.0}, metadata={"k": "v"})
    assert isinstance(variable, Variable)
    assert (variable.name, variable.type, variable.value, variable.version) == ("temperature", "float", 0.5, 0)
    assert variable.id.startswith("var_temperature_") and variable.created_at <= variable.updated_at
    assert variables.set("temperature", 0.7, expected_version=0) == 1
    assert variables.get("temperature") == 0.7 and variables.get(variable.id) == 0.7
    assert variables.get("missing", default=None) is None
    with pytest.raises(NotFound, match="unknown variable 'missing' in session 'api'"):
        variables.get("missing")
    with pytest.raises(Conflict, match="expected version 0 but it is at version 1"):
        variables.set("temperature", 0.1, expected_version=0)
    with pytest.raises(InvalidArgument, match=r"^temperature: 1\.5 is above max 1\.0$"):
        variables.set("temperature", 1.5)

    variables.register("top_p", "float", 0.9)
    assert [v.name for v in variables.list()] == ["temperature", "top_p"]
    assert [v.name for v in variables.list("top")] == ["top_p"]
    assert variables.get_many(["top_p", "nope", "temperature"]) == {"top_p": 0.9, "temperature": 0.7}
    assert variables.set_many({"top_p": 0.8, "temperature": 0.2}) == {"top_p": 1, "temperature": 2}
    assert [(e.version, e.value) for e in variables.history("temperature")] == [(0, 0.5), (1, 0.7), (2, 0.2)]
    assert [e.version for e in variables.history("temperature", limit=1)] == [2]
    assert variables.rollback("temperature", 1).value == 0.7
    variables.delete("top_p")
    assert not variables.exists("top_p")


def test_atomic_batch_failure_lists_every_problem_and_changes_nothing(variables: SessionVariables) -> None:
    variables.register("a", "integer", 1, constraints={"max": 5})
    variables.register("b", "string", "x")
    with pytest.raises(BatchError) as caught:
        variables.set_many({"a": 9, "b": 3, "c": 1})
    assert caught.value.errors == {
        "a": "a: 9 is above max 5",
        "b": "b: expected a string, got int 3",
        "c": "unknown variable 'c' in session 'api'",
    }
    assert "nothing was changed" in str(caught.value)
    assert variables.get_many(["a", "b"]) == {"a": 1, "b": "x"}
    with pytest.raises(BatchError) as caught:
        variables.set_many({"a": 2, "b": 3}, atomic=False)
    assert caught.value.versions == {"a": 1} and set(caught.value.errors) == {"b"}


def test_readers_cannot_change_stored_containers(variables: SessionVariables) -> None:
    variables.register("config", "dict", {"layers": [1, 2]})
    variables.get("config")["layers"].append(3)
    variables.get_variable("config").value["new"] = 1
    assert variables.get("config") == {"layers": [1, 2]}


def test_arrays_are_stored_once_and_shared_read_only(variables: SessionVariables) -> None:
    source = np.ones((512, 512), dtype=np.float32)
    variables.register("w", "tensor", source)
    source[0, 0] = 7  # the caller's array is not the stored one
    first, second = variables.get("w"), variables.get("w")
    assert first is second and not first.flags.writeable and first[0, 0] == 1
    with pytest.raises(ValueError):
        first[0, 0] = 2
    variables.register("w2", "tensor", first)  # already stored layout: no copy
    assert np.shares_memory(variables.get("w2"), first)


def test_large_values_keep_only_metadata_in_history(variables: SessionVariables) -> None:
    variables.register("w", "tensor", np.zeros(300_000, dtype=np.float32))
    variables.set("w", np.ones(300_000, dtype=np.float32))
    entries = variables.history("w")
    assert [(e.version, e.value_kept) for e in entries] == [(0, False), (1, False)]
    with pytest.raises(FailedPrecondition, match="the value of version 0 was not kept"):
        variables.rollback("w", 0)


def test_ctx_variables_without_the_plugin_names_the_distribution() -> None:
    expected = "'variables': it comes with snakepit-variables, which is installed but not loaded by this host"
    with running_host(UsesVariables) as handle, pytest.raises(RemoteError, match=expected):
        handle.client().call("bump", {})


def test_session_close_drops_the_variables(running: RunningHost) -> None:
    client = running.client()
    client.call("bump", {}, session_id="short")
    running.host.sessions.close("short")
    assert client.call("peek", {"name": "counter"}, session_id="short") == "absent"
