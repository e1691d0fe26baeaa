"""list_tools / describe_tool, ctx.tools from handlers, and lazily imported tools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from snakepit_tools import tool

from snakepit_host import SessionContext, hookimpl
from snakepit_host.host_client import RemoteError


@tool(tags=["text", "cheap"])
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@tool(tags=["text"])
def words(text: str) -> Iterator[str]:
    """Each word of a text."""
    yield from text.split()


def relay(ctx: SessionContext, name: str, text: Any) -> Any:
    """Calls another tool through ctx.tools; streams are collected."""
    found = ctx.tools.describe(name)
    if found["streaming"]:
        return list(ctx.tools.stream(name, text=text))
    return ctx.tools.call(name, text=text)


async def relay_async(ctx: SessionContext, text: str) -> Any:
    return await ctx.tools.acall("shout", text=text)


def call_a_command(ctx: SessionContext) -> Any:
    return ctx.tools.call("ping")


class LazyTools:
    """Registers a tool by reference: its module is imported on the first call."""

    @hookimpl
    def register_tools(self, register: Any) -> None:
        schema = {
            "type": "object",
            "properties": {"text": {"type": "string"}, "width": {"type": "integer", "minimum": 5}},
            "required": ["text", "width"],
        }
        register.tool("textwrap:shorten", name="shorten", parameters=schema, description="Shorten a text.")


@pytest.fixture
def client(serve: Any, tools_from: Any) -> Any:
    return serve(tools_from(shout, words, relay, relay_async, call_a_command), LazyTools()).client()


def test_list_tools_filters_by_language_and_tags(client: Any) -> None:
    names = [t["name"] for t in client.call("list_tools")["tools"]]
    assert names == ["call_a_command", "relay", "relay_async", "shorten", "shout", "words"]
    assert [t["name"] for t in client.call("list_tools", {"tags": "text"})["tools"]] == ["shout", "words"]
    assert [t["name"] for t in client.call("list_tools", {"tags": ["text", "cheap"]})["tools"]] == ["shout"]
    assert [t["name"] for t in client.call("list_tools", {"language": "python", "tags": []})["tools"]] == names
    with pytest.raises(RemoteError, match=r"parameter 'language': 'ruby' is not one of \['python', 'elixir'\]"):
        client.call("list_tools", {"language": "ruby"})
    with pytest.raises(RemoteError) as caught:
        client.call("list_tools", {"colour": "red", "tags": 3})
    assert caught.value.message == (
        "command 'list_tools': 2 problems with the parameters: unknown parameter 'colour' (accepted: language, tags); "
        "parameter 'tags': 3 is not a string or an array"
    )


def test_describe_tool(client: Any) -> None:
    described = client.call("describe_tool", {"name": "words"})
    assert described["streaming"] is True
    assert described["returns"] == {"type": "string"}
    assert described["parameters"]["properties"] == {"text": {"type": "string"}}
    with pytest.raises(RemoteError, match="'nothing' is not a known tool"):
        client.call("describe_tool", {"name": "nothing"})
    with pytest.raises(
        RemoteError, match="command 'describe_tool': 1 problem with the parameters: missing required parameter 'name'$"
    ):
        client.call("describe_tool", {})


def test_ctx_tools_calls_and_streams_other_tools(client: Any) -> None:
    assert client.call("relay", {"name": "shout", "text": "hi"}) == "HI"
    assert client.call("relay", {"name": "words", "text": "a b c"}) == ["a", "b", "c"]
    assert client.call("relay_async", {"text": "async"}) == "ASYNC"
    with pytest.raises(RemoteError, match="'ping' is a command, not a tool"):
        client.call("call_a_command")
    with pytest.raises(RemoteError, match="tool 'shout': 1 problem with the parameters: .*42 is not of type 'string'"):
        client.call("relay", {"name": "shout", "text": 42})


def test_a_lazily_imported_tool_is_validated_against_its_schema(client: Any) -> None:
    assert client.call("shorten", {"text": "hello wide world", "width": 12}) == "hello [...]"
    with pytest.raises(RemoteError, match="parameter 'width': 2 is less than the minimum of 5"):
        client.call("shorten", {"text": "x", "width": 2})
