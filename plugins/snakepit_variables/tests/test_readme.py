"""The README's Python example runs as written: its handler, as a command on a real host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import snakepit_variables.plugin as variables_plugin

from snakepit_host import hookimpl
from snakepit_host.testing import running_host

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_handler() -> Any:
    """The ``handler`` defined by the README's first Python block."""
    (block, *_) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    namespace: dict[str, Any] = {}
    exec(compile(block, str(README), "exec"), namespace)
    return namespace["handler"]


def test_the_python_example_runs_as_a_command() -> None:
    class ReadmeExample:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            register.command("readme_example", readme_handler())

    with running_host(variables_plugin, ReadmeExample) as running:
        client = running.client()
        assert client.call("readme_example", session_id="s") == {"version": 1, "first_event": "initial_value"}
        # set_many then rollback to version 0 left temperature at 0.7 and top_p at 0.9.
        values = client.call("get_variables", {"names": ["temperature", "top_p"]}, session_id="s")
        assert values["variables"] == {"temperature": 0.7, "top_p": 0.9}
