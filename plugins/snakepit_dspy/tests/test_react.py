"""ReAct over the session's tools: a Python tool and Elixir tools (through the Elixir stand-in)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from snakepit_dspy.testing import Caller

from snakepit_host import hookimpl
from snakepit_host.testing import RunningHost, running_host
from snakepit_host.testing.elixir_standin import ElixirStandIn


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class PythonTools:
    """A plugin offering one Python tool, as a third party would."""

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register.tool(add)


def explode(params: dict[str, Any]) -> Any:
    raise RuntimeError(f"the warehouse is closed ({params['reason']})")


@pytest.fixture
def elixir() -> Iterator[ElixirStandIn]:
    standin = ElixirStandIn()
    standin.expose_tool(
        "lookup_capital",
        lambda params: {"France": "Paris", "Italy": "Rome"}[params["country"]],
        description="The capital city of a country.",
        parameters=[("country", "string")],
    )
    standin.expose_tool("explode", explode, description="Always fails.", parameters=[("reason", "string")])
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def agent_host(elixir: ElixirStandIn, tools_installed: None) -> Iterator[RunningHost]:
    with running_host(PythonTools, entry_points=True, elixir_address=elixir.address) as handle:
        yield handle


def step(thought: str, tool: str, **args: Any) -> dict[str, Any]:
    return {"next_thought": thought, "next_tool_name": tool, "next_tool_args": args}


def test_react_calls_python_and_elixir_tools(agent_host: RunningHost, elixir: ElixirStandIn) -> None:
    session = Caller(agent_host.client(), "agent")
    session.dummy(
        step("Add first.", "add", a=2, b=3),
        step("Now the capital.", "lookup_capital", country="France"),
        step("Check the warehouse.", "explode", reason="inventory"),
        step("Done.", "finish"),
        {"reasoning": "2 + 3 = 5 and the capital is Paris.", "answer": "5, Paris"},
    )
    result = session("react", question="What is 2 + 3, and the capital of France?", max_iters=6)

    assert result["outputs"] == {"answer": "5, Paris"}
    trajectory = result["trajectory"]
    assert (trajectory["tool_name_0"], trajectory["observation_0"]) == ("add", 5)
    assert (trajectory["tool_name_1"], trajectory["observation_1"]) == ("lookup_capital", "Paris")
    assert trajectory["tool_name_2"] == "explode"
    assert trajectory["observation_2"].startswith("tool 'explode' failed:")
    assert "the warehouse is closed (inventory)" in trajectory["observation_2"]
    assert "Traceback" not in trajectory["observation_2"]
    assert [e["tool"] for e in result["tool_errors"]] == ["explode"]
    assert [r.tool_name for r in elixir.calls("ExecuteElixirTool")] == ["lookup_capital", "explode"]
    # The failing Elixir tool cost the session nothing: it still has its LM and the host still serves.
    assert session("ping")["status"] == "ok"
    assert session("check_dspy")["lm"]["answers_remaining"] == 0


def test_react_with_chosen_tools(agent_host: RunningHost) -> None:
    session = Caller(agent_host.client(), "chosen")
    session.dummy(step("Add.", "add", a=1, b=1), step("Done.", "finish"), {"reasoning": "r", "answer": "2"})
    result = session("react", signature="question -> answer", inputs={"question": "1 + 1?"}, tools=["add"])
    assert result["outputs"] == {"answer": "2"}
    error = session.fails("react", question="x", tools=["add", "teleport"])
    assert error.metadata["error_status"] == "NOT_FOUND"
    assert "unknown tool(s) 'teleport'" in error.message and "lookup_capital" in error.message


def test_react_without_the_tools_plugin(session: Caller) -> None:
    session.dummy({"answer": "x"})
    error = session.fails("react", question="q")
    assert "react needs snakepit-tools" in error.message
    assert session("check_dspy")["lm"]["answers_remaining"] == 1
