"""The example next to snakepit-tools (schemas and validation) and snakepit-variables (money variables).

Each test is skipped, saying why, when the other distribution is not
installed: the example itself depends only on snakepit-host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
import snakepit_example.plugin as example_plugin
from snakepit_example.money import Money

from snakepit_host import RemoteError, hookimpl
from snakepit_host.testing import RunningHost

if TYPE_CHECKING:  # typed against snakepit-variables' public face; no run-time dependency on it
    from snakepit_variables import Variables

    from snakepit_host import SessionContext


def _plugin_or_skip(module: str, distribution: str, feature: str) -> Any:
    return pytest.importorskip(module, reason=f"{distribution} is not installed; it provides {feature}")


@pytest.fixture
def with_tools(snakepit_host_factory: Callable[..., RunningHost]) -> RunningHost:
    tools = _plugin_or_skip("snakepit_tools.plugin", "snakepit-tools", "schemas derived from type hints")
    return snakepit_host_factory(tools, example_plugin)


@pytest.fixture
def with_variables(snakepit_host_factory: Callable[..., RunningHost]) -> RunningHost:
    variables = _plugin_or_skip("snakepit_variables.plugin", "snakepit-variables", "variables of any registered type")
    return snakepit_host_factory(variables, example_plugin, BudgetReader)


class BudgetReader:
    """A test plugin reading a money variable through ``ctx.variables``, as a tool author would."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("read_budget", read_budget)


def read_budget(ctx: SessionContext, params: dict[str, Any]) -> dict[str, str]:
    variables: Variables = ctx.variables
    value = variables.get("budget")
    return {"python_type": type(value).__name__, "text": str(value)}


def test_tools_derive_the_schema_from_the_hints(with_tools: RunningHost) -> None:
    tools = {tool["name"]: tool for tool in with_tools.client().call("describe")["tools"]}
    schema = tools["split_bill"]["parameters"]
    assert schema["required"] == ["total", "people"]
    assert schema["properties"]["currency"]["enum"] == ["CHF", "EUR", "GBP", "JPY", "USD"]
    assert schema["properties"]["people"]["description"] == "how many people share the bill (1 to 1000)"
    assert "ctx" not in tools["payment_schedule"]["parameters"]["properties"]


def test_tools_validate_before_the_function_runs(with_tools: RunningHost) -> None:
    client = with_tools.client()
    with pytest.raises(RemoteError) as caught:
        client.call("split_bill", {"total": "10", "people": 2, "currency": "XYZ"})
    assert "parameter 'currency'" in caught.value.message and "'XYZ' is not one of" in caught.value.message
    assert client.call("split_bill", {"total": "10", "people": 2})["shares"] == ["5.00", "5.00"]
    assert [c["payment"] for c in client.stream("payment_schedule", {"amount": "10", "months": 2})] == ["5.00"] * 2


def test_a_money_variable_with_constraints(with_variables: RunningHost) -> None:
    client = with_variables.client()
    session = {"session_id": "shop"}
    constraints = {"currencies": ["EUR"], "min": "0", "max_places": 2}
    registered = client.call(
        "register_variable",
        {"name": "budget", "type": "money", "value": "250.00 EUR", "constraints": constraints},
        **session,
    )
    assert registered["value"] == {"amount": "250.00", "currency": "EUR"} and registered["version"] == 0
    for bad, rule in [
        ("10 USD", "currency USD is not allowed (allowed: EUR)"),
        ("-1 EUR", "-1 EUR is below min 0"),
        ({"amount": 9.99, "currency": "EUR"}, "not a float"),
    ]:
        with pytest.raises(RemoteError) as caught:
            client.call("set_variable", {"name": "budget", "value": bad}, **session)
        assert rule in caught.value.message
    assert (
        client.call("set_variable", {"name": "budget", "value": {"amount": "99.90", "currency": "EUR"}}, **session)[
            "version"
        ]
        == 1
    )
    assert client.call("read_budget", {}, **session) == {"python_type": Money.__name__, "text": "99.90 EUR"}


def test_bad_money_constraints_are_refused_at_registration(with_variables: RunningHost) -> None:
    with pytest.raises(RemoteError, match="unknown constraint 'maximum'"):
        with_variables.client().call(
            "register_variable", {"name": "cap", "type": "money", "value": "1 EUR", "constraints": {"maximum": "5"}}
        )
