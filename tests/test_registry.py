"""Owner-tracked registration: names, collisions, lazy targets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from snakepit_host._context import SessionContext
from snakepit_host._errors import InvalidArgument, RegistrationError, SnakepitError
from snakepit_host._registry import Registry
from snakepit_host._tool_calls import prepare


def handler(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return params


def other(ctx: Any, params: dict[str, Any]) -> None:
    return None


def test_every_item_records_its_owner() -> None:
    registry = Registry()
    registry.registrar("alpha").command("hello", handler)
    registry.registrar("beta").tool(other, name="helper")
    assert registry.commands["hello"].owner == "alpha"
    assert registry.commands["helper"].owner == "beta"
    assert registry.provided_by("alpha")["commands"] == ["hello"]
    assert registry.provided_by("beta")["tools"] == ["helper"]


def test_collision_names_both_owners() -> None:
    registry = Registry()
    registry.registrar("alpha").command("hello", handler)
    with pytest.raises(RegistrationError) as raised:
        registry.registrar("beta").command("hello", other)
    assert "'beta'" in str(raised.value) and "'alpha'" in str(raised.value)
    assert registry.commands["hello"].owner == "alpha"


def test_commands_and_tools_share_one_namespace() -> None:
    registry = Registry()
    registry.registrar("alpha").tool(other, name="thing")
    with pytest.raises(RegistrationError, match="command 'thing' from plugin 'beta' collides with tool 'thing'"):
        registry.registrar("beta").command("thing", handler)


def test_identical_re_registration_is_a_no_op() -> None:
    registry = Registry()
    registry.registrar("alpha").command("hello", handler)
    registry.registrar("beta").command("hello", handler)
    registry.registrar("alpha").command("lazy", "snakepit_host._core_plugin:echo")
    registry.registrar("alpha").command("lazy", "snakepit_host._core_plugin:echo")
    assert registry.commands["hello"].owner == "alpha"


def test_same_plugin_two_targets_is_an_error() -> None:
    registry = Registry()
    registrar = registry.registrar("alpha")
    registrar.command("hello", handler)
    with pytest.raises(RegistrationError, match="registered command 'hello' twice"):
        registrar.command("hello", other)


@pytest.mark.parametrize("name", ["", "has space", "-lead", "x" * 65, "semi;colon", "über"])
def test_names_follow_snakepit_rules(name: str) -> None:
    with pytest.raises(RegistrationError):
        Registry().registrar("p").command(name, handler)


def test_decorator_forms_and_defaults() -> None:
    registry = Registry()
    register = registry.registrar("p")

    @register.command("stream_it")
    def stream_it(ctx: Any, params: dict[str, Any]) -> Any:
        """Yield things.

        More detail here."""
        yield 1

    @register.tool(tags=["math"])
    def add(a: int, b: int = 2) -> int:
        """Add two numbers."""
        return a + b

    assert registry.commands["stream_it"].streaming is True
    assert registry.commands["stream_it"].description == "Yield things."
    tool = registry.commands["add"]
    assert tool.kind == "tool" and tool.description == "Add two numbers." and tool.describe()["tags"] == ["math"]


def test_lazy_target_resolves_on_first_call_and_reports_failures() -> None:
    registry = Registry()
    register = registry.registrar("p")
    register.command("echo2", "snakepit_host._core_plugin:echo")
    register.command("missing", "no_such_module_anywhere:handler")
    assert registry.commands["echo2"].invoke(_FakeCtx(), {"a": 1}) == {"a": 1}
    with pytest.raises(SnakepitError, match="plugin 'p' could not load no_such_module_anywhere:handler"):
        registry.commands["missing"].invoke(_FakeCtx(), {})
    with pytest.raises(RegistrationError):
        register.command("bad", "not-a-reference")


def test_lazy_types_are_imported_and_made_once_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_money.py").write_text(
        "made = []\n"
        "class MoneyType:\n"
        "    name = 'money'\n"
        "    def __init__(self):\n"
        "        made.append(self)\n"
        "    def describe(self):\n"
        "        return {'wire': 'JSON'}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    register = registry.registrar("p")
    register.type("money", "lazy_money:MoneyType")
    register.type("money", "lazy_money:MoneyType")  # the same reference again: a no-op
    register.type("nothing", "no_such_module_anywhere:Type")
    assert "lazy_money" not in sys.modules  # registering imported nothing
    entry = registry.types["money"]
    money = entry.value_type
    assert entry.value_type is money and sys.modules["lazy_money"].made == [money]  # made once
    assert money.describe() == {"wire": "JSON"}
    with pytest.raises(SnakepitError, match="plugin 'p' could not load no_such_module_anywhere:Type"):
        _ = registry.types["nothing"].value_type
    with pytest.raises(RegistrationError, match="registered type 'money' twice"):
        register.type("money", "lazy_money:Other")
    del sys.modules["lazy_money"]


def test_frozen_registry_refuses_registration() -> None:
    registry = Registry()
    registry.freeze()
    with pytest.raises(RegistrationError, match="frozen"):
        registry.registrar("p").command("late", handler)


def test_withdraw_removes_everything_of_one_owner() -> None:
    registry = Registry()
    registry.registrar("a").command("one", handler)
    registry.registrar("b").command("two", other)
    registry.registrar("a").session_attribute("thing", lambda ctx: 1)
    registry.withdraw("a")
    assert list(registry.commands) == ["two"] and not registry.session_attributes


def test_rpc_registration_rules() -> None:
    register = Registry().registrar("p")
    with pytest.raises(RegistrationError, match="answered by the host"):
        register.rpc("ExecuteTool", handler)
    with pytest.raises(RegistrationError, match="not a BridgeService method"):
        register.rpc("Nope", handler)
    register.rpc("GetVariable", handler)


def test_lazy_rpc_handlers_resolve_on_first_call() -> None:
    registry = Registry()
    registry.registrar("p").rpc("GetVariable", "snakepit_host._core_plugin:echo")
    registry.registrar("q").rpc("GetVariable", "snakepit_host._core_plugin:echo")  # identical: no-op
    entry = registry.rpcs["GetVariable"]
    assert entry.owner == "p"
    assert entry.handler()(_FakeCtx(), {"a": 1}) == {"a": 1}


def test_session_attribute_cannot_shadow_context() -> None:
    register = Registry(reserved_attributes=SessionContext.reserved_attributes()).registrar("p")
    with pytest.raises(RegistrationError):
        register.session_attribute("session", lambda ctx: 1)
    with pytest.raises(RegistrationError):
        register.session_attribute("_private", lambda ctx: 1)


def _prepared(function: Any) -> Any:
    registry = Registry()
    registry.registrar("p").tool(function, name="tool")
    return prepare(registry.tools()[0])


def test_a_prepared_tool_reports_every_problem_at_once() -> None:
    def tool(a: int, b: int, c: int = 0) -> int:
        return a + b + c

    prepared = _prepared(tool)
    prepared.validator.check({"a": 1, "b": 2})
    assert prepared.invoke(_FakeCtx(), {"a": 1, "b": 2}) == 3
    with pytest.raises(InvalidArgument) as raised:
        prepared.validator.check({"a": 1, "x": 1, "y": 2})
    message = str(raised.value)
    assert message.startswith("tool 'tool': 3 problems with the parameters: ")
    assert "missing required parameter 'b'" in message
    assert "unknown parameter 'x'" in message and "unknown parameter 'y'" in message


def test_a_prepared_tool_passes_context_to_ctx_parameter() -> None:
    def tool(ctx: Any, a: int) -> Any:
        return (ctx, a)

    prepared = _prepared(tool)
    ctx = _FakeCtx()
    assert prepared.invoke(ctx, {"a": 1}) == (ctx, 1)
    with pytest.raises(InvalidArgument, match="unknown parameter 'ctx'"):
        prepared.validator.check({"a": 1, "ctx": 2})


class _FakeCtx:
    """Handlers here barely use the context; this stands in for it."""

    binary: dict[str, bytes] = {}


def test_an_adapters_commands_win_clashes_in_either_order_and_the_hidden_ones_are_listed() -> None:
    registry = Registry()
    registry.registrar("core").command("echo", handler)
    adapter = registry.registrar("MyAdapter", overrides=True)
    adapter.command("echo", other)
    adapter.command("report", other)
    registry.registrar("late").command("report", handler)  # registered after the adapter: hidden, not an error
    assert registry.commands["echo"].owner == registry.commands["report"].owner == "MyAdapter"
    assert registry.provided_by("core")["shadowed"] == ["echo (by MyAdapter)"]
    assert registry.provided_by("late")["shadowed"] == ["report (by MyAdapter)"]
    assert registry.provided_by("MyAdapter")["shadows"] == ["echo (of core)", "report (of late)"]
    with pytest.raises(RegistrationError, match="'later' collides with command 'report' registered by plugin 'late'"):
        registry.registrar("later").command("report", lambda ctx, params: None)
    registry.withdraw("MyAdapter")
    assert registry.commands["echo"].owner == "core" and registry.commands["report"].owner == "late"
    assert registry.shadowed == {}


@pytest.mark.parametrize("timeout", [0, -1.5, True, "5"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(timeout: Any) -> None:
    registrar = Registry().registrar("alpha")
    with pytest.raises(RegistrationError, match="positive number of seconds"):
        registrar.command("hello", handler, timeout=timeout)
    with pytest.raises(RegistrationError, match="positive number of seconds"):
        registrar.tool(other, name="helper", timeout=timeout)


def test_a_timeout_is_kept_in_seconds() -> None:
    registry = Registry()
    registry.registrar("alpha").command("hello", handler, timeout=2)
    assert registry.commands["hello"].timeout == 2.0
