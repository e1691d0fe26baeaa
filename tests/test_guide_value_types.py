"""docs/plugins.md's value-type contract holds for every type of this repository, and for the listing."""

from __future__ import annotations

import re
from typing import Any

from plugin_packages import ROOT

from snakepit_host import hookimpl
from snakepit_host.testing import running_host

GUIDE = ROOT / "docs" / "plugins.md"


def documented_describe_keys() -> set[str]:
    row = next(line for line in GUIDE.read_text().splitlines() if line.startswith("| `describe() -> dict`"))
    return set(re.findall(r"`(\w+)` \(", row))


def test_every_type_describes_itself_with_the_documented_keys() -> None:
    keys = documented_describe_keys()
    assert keys == {"description", "python_type", "wire", "constraints"}
    with running_host(entry_points=True) as running:
        types = running.client().call("describe")["types"]
        registry = running.host.registry.types
    assert {t["name"] for t in types} >= {"float", "tensor", "money"}  # variables and the example are installed
    for entry in types:
        assert set(entry) - {"name", "owner"} == keys, entry["name"]
        assert entry["constraints"] == registry[entry["name"]].value_type.constraint_schema()


def test_the_host_sets_name_and_owner_whatever_describe_returns() -> None:
    class Impostor:
        name = "impostor"
        description = "claims another name in describe()"

        def describe(self) -> dict[str, Any]:
            return {"name": "float", "owner": "core", "description": self.description}

    class Plugin:
        @hookimpl
        def register_types(self, register: Any) -> None:
            register.type("impostor", Impostor())

    with running_host(Plugin) as running:
        (entry,) = running.client().call("describe")["types"]
    assert (entry["name"], entry["owner"]) == ("impostor", "Plugin")
