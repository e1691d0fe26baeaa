"""The host's one parameter validator: routing stripped, every schema enforced, the same for every tool.

Over real gRPC servers: the routing parameter ``session_id`` reaches no
handler but one whose command keeps it; every command and tool of every installed plugin refuses a
wrong-typed and an out-of-range value before its handler runs; a tool is
described and validated the same with or without snakepit-tools; values
are converted as the hints ask; jsonschema is imported on the first call
that needs it, never at start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import grpc
import pytest
import snakepit_tools.plugin as tools_plugin
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from snakepit_host import InvalidArgument, SessionContext, hookimpl
from snakepit_host._parameters import ParameterValidator
from snakepit_host._registry import Command, Tool
from snakepit_host.host_client import RemoteError, SnakepitClient
from snakepit_host.testing import RunningHost, make_plugin_manager, running_host


class Routing:
    """A command without a schema, one that takes no parameters, and a tool: what do they receive?"""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("seen", lambda ctx, params: {"session": ctx.session_id, "params": sorted(params)})
        register.command(
            "nothing",
            lambda ctx, params: ctx.session_id,
            parameters={"type": "object", "properties": {}, "additionalProperties": False},
        )
        register.command(
            "kept",
            lambda ctx, params: {"session": ctx.session_id, "params": params},
            parameters={"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
            keep_routing=True,
        )

    @hookimpl
    def register_tools(self, register: Any) -> None:
        def where(ctx: SessionContext, x: int = 0) -> dict[str, Any]:
            return {"session": ctx.session_id, "x": x}

        register.tool(where)


@pytest.fixture(scope="module")
def routing() -> Iterator[SnakepitClient]:
    with running_host(Routing()) as handle:
        yield handle.client()


def test_the_routing_parameter_chooses_the_session_and_reaches_no_handler(routing: SnakepitClient) -> None:
    routed = {"session_id": "from-params"}
    assert routing.call("seen", {**routed, "a": 1}, session_id="request") == {"session": "from-params", "params": ["a"]}
    assert routing.call("nothing", routed) == "from-params"  # a closed schema does not refuse the routing key
    assert routing.call("where", {**routed, "x": 2}) == {"session": "from-params", "x": 2}
    assert routing.call("where", {"session_id": ""}, session_id="request")["session"] == "request"


def test_a_command_that_keeps_routing_receives_it_as_sent_and_its_schema_is_checked_without_it(
    routing: SnakepitClient,
) -> None:
    sent = {"a": 1, "session_id": "from-params"}
    assert routing.call("kept", sent, session_id="request") == {"session": "from-params", "params": sent}
    assert routing.call("kept", {"a": 1}, session_id="request") == {"session": "request", "params": {"a": 1}}
    with pytest.raises(RemoteError, match="parameter 'a': 'x' is not of type 'integer'"):
        routing.call("kept", {"a": "x", "session_id": "s"})


def test_a_routing_parameter_that_is_not_a_string_is_refused(routing: SnakepitClient) -> None:
    for name in ("seen", "where"):
        with pytest.raises(RemoteError) as caught:
            routing.call(name, {"session_id": 7})
        assert (
            caught.value.message == "parameter 'session_id' names the session to run in and must be a string, got int"
        )
        assert caught.value.metadata["error_status"] == "INVALID_ARGUMENT"


# ---------------------------------------------------------------- every command of every installed plugin

_JSON_SAMPLES: list[tuple[str, Any]] = [
    ("integer", 12345),
    ("string", "text"),
    ("boolean", True),
    ("array", [1]),
    ("object", {"k": 1}),
    ("null", None),
]


def _kinds(schema: Any) -> set[str]:
    """The JSON types a property schema allows (its options' for oneOf/anyOf); empty when it does not say."""
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    kinds = set(kind if isinstance(kind, list) else [kind] if kind else [])
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        option_kinds = _kinds(option)
        if not option_kinds:
            return set()
        kinds |= option_kinds
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def wrong_type(schema: Any) -> list[Any]:
    """A value of a JSON type the property does not allow (none when it allows any)."""
    kinds = _kinds(schema)
    return [next(value for kind, value in _JSON_SAMPLES if kind not in kinds)] if kinds else []


def out_of_range(schema: Any) -> list[Any]:
    """One value per range, length, choice or pattern the property declares, each just outside it."""
    if not isinstance(schema, dict):
        return []
    values: list[Any] = []
    if "minimum" in schema:
        values.append(schema["minimum"] - 1)
    if "maximum" in schema:
        values.append(schema["maximum"] + 1)
    if "enum" in schema:
        values.append("not-one-of-them")
    if schema.get("minLength", 0) > 0 or "pattern" in schema:
        values.append("   "[: schema.get("minLength", 1) - 1] if "pattern" not in schema else "   ")
    if "maxLength" in schema:
        values.append("x" * (schema["maxLength"] + 1))
    if schema.get("minItems", 0) > 0:
        values.append([])
    if "maxItems" in schema:
        values.append([{}] * (schema["maxItems"] + 1))
    return values


def _commands() -> list[Command]:
    """Every command and tool whose schema refuses something (ping, echo and describe take any object)."""
    registry = make_plugin_manager(entry_points=True).build_registry()
    return sorted((c for c in registry if not c.validator.accepts_anything), key=lambda c: c.name)


CATALOG = _commands()


@pytest.fixture(scope="module")
def everything() -> Iterator[RunningHost]:
    with running_host(entry_points=True) as handle:
        yield handle


def refusal(client: SnakepitClient, command: Command, params: dict[str, Any]) -> tuple[str, str]:
    """(gRPC status name, message) of a call that must be refused."""
    if command.streaming:
        with pytest.raises(grpc.RpcError) as raised:
            list(client.stream(command.name, params))
        return raised.value.code().name, raised.value.details() or ""
    with pytest.raises(RemoteError) as caught:
        client.call(command.name, params)
    return caught.value.metadata["error_status"], caught.value.message


@pytest.mark.parametrize("command", CATALOG, ids=[c.name for c in CATALOG])
def test_every_command_refuses_wrong_types_and_values_out_of_range(everything: RunningHost, command: Command) -> None:
    client = everything.client()
    assert command.parameters is not None
    probes = [
        (name, value)
        for name, prop in command.parameters.get("properties", {}).items()
        for value in wrong_type(prop) + out_of_range(prop)
    ]
    if command.parameters.get("additionalProperties") is False:
        probes.append(("unexpected", 1))
    assert probes
    for name, value in probes:
        status, message = refusal(client, command, {name: value})
        assert status == "INVALID_ARGUMENT", (name, value, message)
        assert message.startswith(f"{command.kind} '{command.name}': "), message
        assert f"parameter '{name}" in message, (name, value, message)  # "unknown parameter 'unexpected'" too


def test_the_catalogs_declare_their_ranges_and_choices() -> None:
    """Ranges, lengths and choices are in the schemas of each plugin, not only in descriptions."""
    ranged = {
        c.owner for c in CATALOG for prop in (c.parameters or {}).get("properties", {}).values() if out_of_range(prop)
    }
    assert {"variables", "tools", "dspy", "example"} <= ranged


def test_every_schema_is_valid_draft_2020_12() -> None:
    for command in make_plugin_manager(entry_points=True).build_registry():
        if command.parameters is not None:
            Draft202012Validator.check_schema(command.parameters)


# ---------------------------------------------------------------- tools, with and without snakepit-tools


def order(
    item: str,
    price: float,
    quantity: Annotated[int, {"minimum": 1, "maximum": 99}] = 1,
    weights: list[float] | None = None,
    either: int | float = 0,
) -> dict[str, Any]:
    """Order an item.

    Args:
        item: what to order
        price: unit price
    """
    return {
        "price": [type(price).__name__, price],
        "weights": [type(w).__name__ for w in weights or []],
        "either": type(either).__name__,
        "total": price * quantity,
    }


class Orders:
    @hookimpl
    def register_tools(self, register: Any) -> None:
        register.tool(order)


def test_a_tool_is_described_and_validated_the_same_with_and_without_snakepit_tools() -> None:
    seen = []
    for plugins in ((Orders(),), (tools_plugin, Orders())):
        with running_host(*plugins) as handle:
            tool = handle.host.registry.commands["order"]
            assert isinstance(tool, Tool)
            client = handle.client()
            with pytest.raises(RemoteError) as caught:
                client.call("order", {"price": "cheap", "quantity": 100, "colour": "red"})
            seen.append(
                (
                    tool.parameters,
                    tool.returns,
                    caught.value.message,
                    client.call("order", {"item": "tea", "price": 3, "weights": [1, 2.5], "either": 2.5}),
                )
            )
    assert "tools" not in make_plugin_manager(Orders()).records  # the first host really ran without it
    assert seen[0] == seen[1]
    parameters, _, message, answer = seen[0]
    assert parameters is not None
    assert parameters["properties"]["quantity"] == {"type": "integer", "minimum": 1, "maximum": 99, "default": 1}
    assert parameters["properties"]["item"]["description"] == "what to order"
    assert message == (
        "tool 'order': 4 problems with the parameters: missing required parameter 'item'; "
        "unknown parameter 'colour' (accepted: either, item, price, quantity, weights); "
        "parameter 'price': 'cheap' is not of type 'number'; "
        "parameter 'quantity': 100 is greater than the maximum of 99"
    )
    assert answer == {"price": ["float", 3.0], "weights": ["float", "float"], "either": "float", "total": 3.0}


def test_values_are_converted_as_the_hints_ask() -> None:
    with running_host(Orders()) as handle:
        client = handle.client()
        answer = client.call("order", {"item": "book", "price": 80, "either": 2})
        assert answer["price"] == ["float", 80.0]  # JSON's 80 for a float parameter arrives as 80.0
        assert answer["either"] == "int"  # int | float keeps an int an int
        assert client.call("order", {"item": "book", "price": 80.0, "weights": [1]})["weights"] == ["float"]


def test_the_validator_library_is_imported_on_the_first_call_that_needs_it() -> None:
    probe = """
import json, sys
from snakepit_host.testing import running_host
with running_host(entry_points=True) as handle:
    client = handle.client()
    seen = ["jsonschema" in sys.modules]
    client.call("echo", {"x": 1})  # echo takes any object: nothing to check
    seen.append("jsonschema" in sys.modules)
    client.call("split_bill", {"total": "10", "people": 2})
    seen.append("jsonschema" in sys.modules)
print(json.dumps(seen))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [False, False, True]


# ---------------------------------------------------------------- schemas that are wrong, and binary parameters


class Broken:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command(
            "typo", lambda ctx, params: 1, parameters={"type": "object", "properties": {"x": {"type": "integr"}}}
        )


class NotAnObject:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("listy", lambda ctx, params: 1, parameters={"type": "array"})


class Mismatch:
    @hookimpl
    def register_tools(self, register: Any) -> None:
        def add(a: int, b: int) -> int:
            return a + b

        register.tool(add, parameters={"type": "object", "properties": {"a": {}, "c": {}}, "required": ["a"]})


def test_schemas_that_cannot_be_enforced_are_reported() -> None:
    with running_host(Broken()) as handle:
        with pytest.raises(RemoteError) as caught:
            handle.client().call("typo", {"x": 1})
        assert caught.value.metadata["error_status"] == "FAILED_PRECONDITION"
        assert caught.value.message.startswith("command 'typo' has an invalid parameters schema at properties/x/type: ")
        assert handle.client().call("ping")["status"] == "ok"
    manager = make_plugin_manager(NotAnObject(), Mismatch(), strict=False)
    manager.build_registry()
    assert "command 'listy': parameters schema must describe an object" in (manager.records["NotAnObject"].error or "")
    assert (manager.records["Mismatch"].error or "").endswith(
        "tool 'add': its parameters schema names parameter 'c' the function does not take; "
        "does not require parameter 'b', which the function requires"
    )


def test_a_choice_between_forms_names_each_forms_parameters() -> None:
    schema = {
        "type": "object",
        "properties": {"module_path": {}, "function_name": {}, "target": {}, "variable": {}, "state": {}},
        "additionalProperties": False,
        "allOf": [
            {"oneOf": [{"required": ["module_path", "function_name"]}, {"required": ["target"]}]},
            {"anyOf": [{"required": ["variable"]}, {"required": ["state"]}]},
        ],
    }
    validator = ParameterValidator("command 'c'", schema)
    assert set(validator.problems({"module_path": "x", "function_name": "f", "target": "y"})) == {
        "give exactly one of 'module_path' and 'function_name', or 'target'",
        "give at least one of 'variable' or 'state'",
    }
    assert validator.problems({"function_name": "f", "variable": "v"}) == [
        "give exactly one of 'module_path' and 'function_name', or 'target'"
    ]
    assert validator.is_valid({"module_path": "x", "function_name": "f", "state": {}})


class Binary:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        schema = {
            "type": "object",
            "properties": {
                "blob": {"description": "any value, binary too"},
                "n": {"type": "integer"},
                "raw": {"type": "string", "minLength": 8, "x-snakepit-binary": "bytes"},
            },
            "required": ["blob"],
            "additionalProperties": False,
        }
        register.command("blob_size", lambda ctx, params: len(params["blob"]), parameters=schema)


def test_binary_parameters_are_checked_by_name_and_kind() -> None:
    with running_host(Binary()) as handle:
        client = handle.client()
        assert client.call("blob_size", {}, binary={"blob": b"12345"}) == 5
        assert client.call("blob_size", {"blob": "abc"}, binary={"raw": b"x"}) == 3  # its stand-in is not judged
        with pytest.raises(RemoteError) as caught:
            client.call("blob_size", {"blob": "x"}, binary={"n": b"1", "other": b"2"})
        assert caught.value.message == (
            "command 'blob_size': 2 problems with the parameters: "
            "parameter 'n' arrived as binary data, but it does not accept binary; unknown parameter 'other'"
        )


def test_vendor_keywords_are_annotations_so_a_schema_of_them_accepts_anything_and_binary() -> None:
    """JSON Schema ignores keywords it does not define: ``x-...`` ones never make the host check or refuse."""
    validator = ParameterValidator(
        "command 'c'", {"type": "object", "properties": {"data": {"x-snakepit-type": "bytes"}}}
    )
    assert validator.accepts_anything
    validator.check({"data": 5})
    validator.check({}, binary={"data": b"raw"})
    typed = ParameterValidator("command 'c'", {"type": "object", "properties": {"n": {"type": "integer", "x-k": 1}}})
    assert not typed.accepts_anything
    with pytest.raises(InvalidArgument, match="parameter 'n': 'x' is not of type 'integer'"):
        typed.check({"n": "x"})


# ---------------------------------------------------------------- the verdict memo never changes a verdict

MEMO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "i": {"type": "integer"},
        "n": {"type": ["number", "null"]},
        "s": {"type": "string", "description": "annotations do not matter"},
        "b": {"type": "boolean"},
        "e": {"enum": ["x", "y", 1]},
        "l": {"type": "array", "items": {"type": "integer"}},
        "r": {"type": "integer", "minimum": 0, "maximum": 2},
        "t": {"type": "string", "minLength": 1, "maxLength": 2},
        "a": {"description": "any value"},
        "v": {"x-vendor-type": "str"},  # vendor keywords constrain nothing
        "w": {"type": "integer", "x-vendor-type": "int"},
    },
    "required": ["i", "s"],
    "additionalProperties": False,
}
OPEN_SCHEMA: dict[str, Any] = {**MEMO_SCHEMA, "additionalProperties": True, "required": ["r"]}
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 2.0, 2.5, "x", "y", "z", "", "xyz", 1, True]),
    st.text(max_size=3),
    st.lists(st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=1)), max_size=3),
)
_calls = st.lists(st.dictionaries(st.sampled_from([*MEMO_SCHEMA["properties"], "zz"]), _values), min_size=1)


@settings(max_examples=300, deadline=None)
@given(_calls, st.sampled_from([MEMO_SCHEMA, OPEN_SCHEMA]))
def test_the_memo_never_changes_a_verdict(calls: list[dict[str, Any]], schema: dict[str, Any]) -> None:
    validator = ParameterValidator("tool 't'", schema)
    reference = Draft202012Validator(schema)
    for params in calls + calls:  # the second pass is answered from the memo where it can be
        assert validator.is_valid(params) == reference.is_valid(params), params
