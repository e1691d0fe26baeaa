"""Schemas derived from signatures, and registration errors for hints with no JSON form."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Optional, Union

import numpy
import numpy.typing as npt
import pydantic
import pytest
import snakepit_tools.plugin as tools_plugin
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from snakepit_tools import tool, tool_options

from snakepit_host import SessionContext, TypedBuffer
from snakepit_host._docstrings import parameter_docs
from snakepit_host._errors import RegistrationError
from snakepit_host._hint_schema import plan_signature, returns_schema
from snakepit_host._registry import Tool
from snakepit_host.testing import running_host


class Opaque:
    """A class with no JSON form."""


def schema_of(function: Any) -> dict[str, Any]:
    schema = plan_signature(function, function.__name__).schema(parameter_docs(function))
    Draft202012Validator.check_schema(schema)  # every derived schema is itself valid
    return schema


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree] = dataclasses.field(default_factory=list)


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)
    home: Address | None = None


class Address(pydantic.BaseModel):
    city: str


Person.model_rebuild()


def test_scalars_defaults_and_required() -> None:
    def f(ctx: SessionContext, a: int, b: float, c: str, d: bool = True, e: Any = None) -> None: ...

    schema = schema_of(f)
    assert schema["properties"] == {
        "a": {"type": "integer"},
        "b": {"type": "number"},
        "c": {"type": "string"},
        "d": {"type": "boolean", "default": True},
        "e": {"default": None},
    }
    assert schema["required"] == ["a", "b", "c"]
    assert schema["additionalProperties"] is False
    assert "ctx" not in schema["properties"]


def test_optional_union_literal_enum() -> None:
    def f(
        a: Optional[int],  # noqa: UP045 (the typing form is what many users write)
        b: int | str,
        c: Literal["x", "y"],
        d: Color,
        e: Level = Level.LOW,
        g: Union[Point, None] = None,  # noqa: UP007
        h: int = None,  # type: ignore[assignment]  # noqa: RUF013 (implicit Optional, on purpose)
    ) -> None: ...

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": ["integer", "null"]}
    assert props["b"] == {"type": ["integer", "string"]}
    assert props["c"] == {"enum": ["x", "y"], "type": "string"}
    assert props["d"] == {"enum": ["red", "green"], "type": "string", "title": "Color"}
    assert props["e"] == {"enum": [1, 2], "type": "integer", "title": "Level", "default": 1}
    assert props["g"] == {"anyOf": [{"$ref": "#/$defs/Point"}, {"type": "null"}], "default": None}
    # A None default makes null acceptable even without Optional.
    assert props["h"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}


def test_containers() -> None:
    def f(
        a: list[int],
        b: dict[str, float],
        c: tuple[int, str],
        d: tuple[float, ...],
        e: set[str],
        g: list[list[Color]],
        h: dict[str, Any],
        i: list,  # type: ignore[type-arg]
    ) -> None: ...

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": "array", "items": {"type": "integer"}}
    assert props["b"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["c"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "items": False,
        "minItems": 2,
        "maxItems": 2,
    }
    assert props["d"] == {"type": "array", "items": {"type": "number"}}
    assert props["e"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert props["g"]["items"]["items"]["enum"] == ["red", "green"]
    assert props["h"] == {"type": "object"}
    assert props["i"] == {"type": "array"}


def test_dataclasses_pydantic_and_recursion_live_in_defs() -> None:
    def f(p: Point, t: Tree, who: Person) -> None: ...

    schema = schema_of(f)
    assert schema["properties"]["p"] == {"$ref": "#/$defs/Point"}
    defs = schema["$defs"]
    assert defs["Point"]["required"] == ["x"]
    assert defs["Tree"]["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
    assert defs["Person"]["properties"]["age"]["minimum"] == 0
    assert "Address" in defs  # pydantic's nested model hoisted to the root
    validator = Draft202012Validator(schema)
    assert validator.is_valid(
        {"p": {"x": 1}, "t": {"label": "a", "children": [{"label": "b"}]}, "who": {"name": "n", "age": 3}}
    )
    assert not validator.is_valid({"p": {"x": 1}, "t": {"label": "a"}, "who": {"name": "n", "age": -1}})


def test_numpy_arrays_and_typed_buffers_accept_binary() -> None:
    def f(a: numpy.ndarray, b: npt.NDArray[numpy.float32], c: npt.NDArray[numpy.int64], d: TypedBuffer) -> None: ...

    props = schema_of(f)["properties"]
    assert props["a"]["type"] == "array" and props["a"]["x-snakepit-binary"] == "ndarray"
    assert props["b"]["items"] == {"type": ["number", "array"]}
    assert props["c"]["items"] == {"type": ["integer", "array"]}
    assert props["d"]["x-snakepit-binary"] == "ndarray"
    plan = plan_signature(f, "f")
    assert all(p.shape.binary is not None for p in plan.parameters)


def test_annotated_docstrings_and_declared_descriptions() -> None:
    @tool(parameter_descriptions={"c": "declared wins"})
    def f(a: Annotated[int, "from Annotated"], b: str, c: int, d: int) -> None:
        """Summary.

        Args:
            b: from Google style,
                continued here.
            c: overridden

        :param d: from Sphinx style
        """

    plan = plan_signature(f, "f")
    descriptions = {**parameter_docs(f), **tool_options(f)["parameter_descriptions"]}
    props = plan.schema(descriptions)["properties"]
    assert props["a"]["description"] == "from Annotated"
    assert props["b"]["description"] == "from Google style, continued here."
    assert props["c"]["description"] == "declared wins"
    assert props["d"]["description"] == "from Sphinx style"


def test_var_keyword_allows_extra_parameters_and_returns_schema() -> None:
    def f(a: int, **rest: float) -> list[int]:
        return [a]

    def g(n: int) -> Iterator[dict[str, int]]:
        yield {"n": n}

    assert schema_of(f)["additionalProperties"] == {"type": "number"}
    assert returns_schema(f, "f", streaming=False) == {"type": "array", "items": {"type": "integer"}}
    assert returns_schema(g, "g", streaming=True) == {"type": "object", "additionalProperties": {"type": "integer"}}


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (Opaque, "has no JSON-schema form"),
        (dict[int, str], "dict keys must be str"),
        (Literal[b"x"], "not JSON strings"),
    ],
)
def test_unsupported_hints_name_the_tool_and_parameter(annotation: Any, fragment: str) -> None:
    def f(good: int, bad: int) -> None: ...

    f.__annotations__["bad"] = annotation
    with pytest.raises(RegistrationError) as caught:
        plan_signature(f, "my_tool")
    assert "tool 'my_tool': parameter 'bad'" in str(caught.value)
    assert fragment in str(caught.value)


def test_hints_imported_only_for_type_checking_spoil_nothing_but_their_own_parameter() -> None:
    def f(ctx, x, y=None):  # type: ignore[no-untyped-def]
        return x

    # What `from __future__ import annotations` leaves when SessionContext is imported under TYPE_CHECKING.
    f.__annotations__ = {"ctx": "SessionContext", "x": "int", "return": "NotImportedHere"}
    assert schema_of(f)["properties"] == {"x": {"type": "integer"}, "y": {"default": None}}
    assert returns_schema(f, "f", streaming=False) is None
    f.__annotations__["y"] = "Missing | None"
    with pytest.raises(RegistrationError) as caught:
        plan_signature(f, "f")
    assert "tool 'f': parameter 'y': cannot resolve its type hint 'Missing | None' (NameError" in str(caught.value)


def test_positional_only_and_var_positional_are_refused() -> None:
    def f(a: int, /) -> None: ...

    def g(*items: int) -> None: ...

    with pytest.raises(RegistrationError, match="parameter 'a' is positional-only"):
        plan_signature(f, "f")
    with pytest.raises(RegistrationError, match=r"parameter 'items': \*args"):
        plan_signature(g, "g")


def opaque_tool(thing: Opaque) -> None:
    """Takes something with no JSON form."""


def fine_tool(x: int) -> int:
    return x


def test_unsupported_hint_withdraws_the_owning_plugin_and_the_host_keeps_serving(
    tools_from: Any,
) -> None:
    bad = tools_from(opaque_tool)
    good = tools_from(fine_tool)
    with running_host(tools_plugin, bad, strict=False) as handle:
        record = handle.host.plugins.records["ToolsFrom"]
        assert record.status == "error"
        assert "tool 'opaque_tool': parameter 'thing': type hint " in (record.error or "")
        assert "Opaque" in (record.error or "") and "has no JSON-schema form" in (record.error or "")
        assert "opaque_tool" not in handle.host.registry.commands
        assert handle.client().call("list_tools")["tools"] == []
    with running_host(tools_plugin, good) as handle:
        assert handle.client().call("fine_tool", {"x": 3}) == 3


def test_explicit_parameters_win_and_decorator_options_reach_the_registry(tools_from: Any) -> None:
    explicit = {"type": "object", "properties": {"x": {"type": "integer", "maximum": 10}}, "required": ["x"]}

    @tool(name="renamed", tags=["t1", "t2"], timeout=3, parameters=explicit, description="Declared.")
    def original(x: Opaque) -> Any:  # the hint has no JSON form, but the explicit schema wins
        return "ok"

    with running_host(tools_plugin, tools_from(original)) as handle:
        registered = handle.host.registry.commands["renamed"]
        assert isinstance(registered, Tool)
        assert registered.parameters == {**explicit, "additionalProperties": False}  # it takes nothing else
        assert (registered.tags, registered.timeout, registered.description) == (("t1", "t2"), 3.0, "Declared.")
        client = handle.client()
        assert client.call("renamed", {"x": 4}) == "ok"
        with pytest.raises(Exception, match="11 is greater than the maximum of 10"):
            client.call("renamed", {"x": 11})
    # Keywords given to register.tool beat the decorator's.
    with running_host(tools_plugin, tools_from(original, name="again", tags=["x"])) as handle:
        again = handle.host.registry.commands["again"]
        assert isinstance(again, Tool) and again.tags == ("x",)


def test_decorator_refuses_bad_options_and_wraps_what_cannot_carry_attributes() -> None:
    with pytest.raises(RegistrationError, match="must start with a letter"):
        tool(name="-bad")
    with pytest.raises(RegistrationError, match="positive number"):
        tool(timeout=0)
    wrapped = tool(len, name="length")
    assert wrapped is not len and tool_options(wrapped)["name"] == "length"
    assert wrapped([1, 2]) == 2
