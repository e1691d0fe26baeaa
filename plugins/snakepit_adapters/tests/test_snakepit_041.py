"""Snakepit 0.4.1-style adapters over real gRPC: its encodings, the variable API on snakepit-variables, DSPex."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import snakepit_variables.plugin as variables_plugin

from snakepit_host.testing.elixir_standin import ElixirStandIn

Serve = Callable[..., Any]
SHOWCASE = "snakepit_bridge.adapters.showcase.showcase_adapter.ShowcaseAdapter"


def test_results_and_errors_are_encoded_as_snakepit_041_encodes_them(serve: Serve) -> None:
    served = serve(SHOWCASE, version="0.4")
    assert served.result("add", {"a": 2, "b": 3}) == ("integer", 5), "0.4.1 keeps integers"
    assert served.error("error_demo", {"error_type": "value"}) == "This is a demonstration ValueError"
    assert served.error("nope") == "Tool 'nope' not found in ShowcaseAdapter", "str(exc), no JSON"
    response = served.execute("error_demo")
    assert response.metadata["error_type"] == "Exception" and response.execution_time_ms >= 0


def test_python_values_are_typed_as_snakepit_041_types_them(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", variables_plugin, version="0.4")
    assert served.result("typed", {"kind": "int"}) == ("integer", 5)
    assert served.result("typed", {"kind": "float"}) == ("float", 2.5)
    assert served.result("typed", {"kind": "none"}) == ("string", "None")
    assert served.result("typed", {"kind": "tuple"}) == ("string", "(1, 2)")
    assert served.result("typed", {"kind": "bytes"}) == ("string", "b'ab'")
    assert served.result("typed", {"kind": "nested"}) == ("map", {"t": [1, 2]})


def test_streams_carry_snakepit_041_chunks(serve: Serve) -> None:
    served = serve(SHOWCASE, version="0.4")
    chunks = served.chunks("stream_progress", {"steps": 2})
    assert [json.loads(data)["step"] for _, data, _, _ in chunks if data] == [1, 2], "StreamChunk.data is sent"
    assert [final for _, _, final, _ in chunks] == [False, False, True]
    words = served.chunks("greetings", {"names": ["ada", "bob"]})
    assert [data for _, data, _, _ in words if data] == [b'"hello ada"', b'"hello bob"'], "0.4.1 JSON-quotes strings"


def test_a_stream_chunk_of_another_class_is_sent_as_its_json(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", variables_plugin, version="0.4")
    data = [data for _, data, _, _ in served.chunks("words", {"text": "Snakes are Fun"}) if data]
    assert data == [b'{"word": "Snakes"}', b'"are"', b'{"word": "Fun"}']


def test_enhanced_bridge_is_served_and_contributes_nothing(serve: Serve) -> None:
    served = serve("snakepit_bridge.adapters.enhanced.EnhancedBridge", version="0.4")
    record = served.listing()["EnhancedBridge"]
    assert (record["status"], record["kind"]) == ("loaded", "adapter")
    assert record["provides"] == {} and "0 @tool method(s)" in record["note"]
    assert served.client.call("echo", {"x": 1}) == {"x": 1}, "without execute_tool, every name stays the plugins'"
    unknown = served.error("anything")
    assert unknown.startswith("unknown command 'anything'")


def test_variable_api_is_served_by_snakepit_variables(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", variables_plugin, version="0.4")
    remembered = served.result(
        "remember", {"name": "temperature", "value": 7, "constraints": {"min": 0}}, session_id="v"
    )
    assert remembered[1] == {"name": "temperature", "value": 7, "listed": ["temperature"]}
    assert served.result("remember", {"name": "temperature", "value": 9}, session_id="v")[1]["value"] == 9
    assert served.result("recall", {"name": "temperature"}, session_id="v")[1] == {"value": 9}
    assert served.result("recall", {"name": "ghost"}, session_id="v")[1] == {"missing": "'Variable not found: ghost'"}
    rejected = served.error("remember", {"name": "temperature", "value": -1}, session_id="v")
    assert "below min" in rejected, rejected
    # The variable is the plugin's: the host's own variable commands see it.
    assert served.client.call("get_variable", {"name": "temperature"}, session_id="v")["value"] == 9


def test_namespace_proxy_and_batches(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", variables_plugin, version="0.4")
    assert served.result("bump", {"name": "hits"}, session_id="b")[1] == {"hits": 3}
    assert served.result("bump", {"name": "hits"}, session_id="b")[1] == {"hits": 6}
    variable = served.client.call("get_variable", {"name": "hits"}, session_id="b")
    assert (variable["type"], variable["version"]) == ("integer", 5)


def test_batch_updates_report_per_variable(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", variables_plugin, version="0.4")
    served.result("remember", {"name": "a", "value": 1, "constraints": {"max": 10}}, session_id="u")
    served.result("remember", {"name": "b", "value": 1}, session_id="u")
    partial = served.result("inventory", {"updates": {"a": 50, "b": 2}}, session_id="u")[1]
    assert partial["outcome"]["b"] is True and "above max" in partial["outcome"]["a"]
    assert partial["now"] == {"a": 1, "b": 2}
    atomic = served.result("inventory", {"updates": {"a": 50, "b": 3}, "atomic": True}, session_id="u")[1]
    assert list(atomic["outcome"]) == ["a"] and atomic["now"] == {"a": 1, "b": 2}


def test_without_snakepit_variables_the_variable_api_says_what_is_missing(serve: Serve) -> None:
    served = serve("legacy_adapter.LegacyAdapter", version="0.4")
    message = served.error("recall", {"name": "x"})
    assert message == "Snakepit 0.4's variable API needs the snakepit-variables plugin, which this host does not load"


def test_elixir_tools_through_the_041_context(serve: Serve, elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("double", lambda p: p["x"] * 2, description="Twice x", parameters=[("x", "integer")])
    served = serve("legacy_adapter.LegacyAdapter", version="0.4", elixir_address=elixir_standin.address)
    assert served.result("ask_elixir", {"x": 4})[1] == {
        "double": 8,
        "documented": "Twice x\n\nParameters:\nx: integer (required)",
    }


def test_dspex_shaped_handler_is_served_when_no_plugin_stands_in(serve: Serve, elixir_standin: ElixirStandIn) -> None:
    elixir_standin.expose_tool("validate_reasoning", lambda p: {"valid": "?" in p["text"]})
    served = serve("dspex_adapters.dspy_grpc.DSPyGRPCHandler", version="0.4", elixir_address=elixir_standin.address)
    assert served.result("check_dspy", {"ignored": True})[1]["available"] is False, "zero-argument tools ignore input"
    configured = served.result("configure_lm", {"model_type": "gemini", "api_key": None, "model": "m"})[1]
    assert configured == {"success": True, "model_type": "gemini", "options": ["api_key", "model"]}
    assert served.error("llm.generate") == "Unknown tool: llm.generate"
    predicted = served.result("enhanced_predict", {"signature": "q -> a", "q": "?"})[1]
    assert (predicted["inputs"], predicted["reasoning"]) == ({"q": "?"}, {"valid": True})
    commands = {c["name"] for c in served.running.host.describe()["commands"] if c["owner"] == "DSPyGRPCHandler"}
    assert commands == {"check_dspy", "configure_lm", "enhanced_predict", "list_stored_objects", "store_object"}


def test_declared_names_win_over_plugin_commands_and_are_listed_as_shadowed(serve: Serve) -> None:
    served = serve(SHOWCASE, version="0.4")
    assert served.result("echo", {"x": 1}) == ("map", {"echoed": {"x": 1}}), "the adapter's echo, not the host's"
    listing = served.listing()
    assert listing["core"]["provides"]["shadowed"] == ["echo (by ShowcaseAdapter)"]
    assert listing["ShowcaseAdapter"]["provides"]["shadows"] == ["echo (of core)"]
    assert listing["ShowcaseAdapter"]["provides"]["commands"] == ["echo", "variable_demo"]
