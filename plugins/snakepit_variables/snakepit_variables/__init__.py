"""snakepit-variables: typed, constrained, versioned session variables for snakepit-host.

Inside a command or tool, use ``ctx.variables`` (a :class:`SessionVariables`; other
plugins type it with the :class:`Variables` protocol)::

    ctx.variables.register("temperature", "float", 0.7, constraints={"min": 0.0, "max": 1.0})
    version = ctx.variables.set("temperature", 0.9, expected_version=0)
    ctx.variables.get("temperature")                     # 0.9
    with ctx.variables.watch(["temp*"]) as changes:
        for event in changes: ...

Outside a call (a background thread of another plugin), :func:`variables_for`
gives the same object for a session id. Importing this package does not
import numpy; arrays load it when a value is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snakepit_host import Host
    from snakepit_variables.model import ELIXIR, PYTHON, ChangeEvent, HistoryEntry, Variable
    from snakepit_variables.protocol import Variables
    from snakepit_variables.session_variables import BatchError, SessionVariables
    from snakepit_variables.stores import MemoryStore, VariableStore
    from snakepit_variables.watch import Watch, WatchLagged

__version__ = "0.1.0"

# Loaded on first access, so that importing the plugin's entry module (which
# imports this package first) costs only what registration needs.
_EXPORTS = {
    "ELIXIR": "model",
    "PYTHON": "model",
    "ChangeEvent": "model",
    "HistoryEntry": "model",
    "Variable": "model",
    "Variables": "protocol",
    "BatchError": "session_variables",
    "SessionVariables": "session_variables",
    "MemoryStore": "stores",
    "VariableStore": "stores",
    "Watch": "watch",
    "WatchLagged": "watch",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'snakepit_variables' has no attribute {name!r}")
    return getattr(importlib.import_module(f"snakepit_variables.{module}"), name)


def variables_for(host: Host, session_id: str, *, create: bool = True) -> SessionVariables:
    """The variables of session ``session_id`` on ``host`` (created on first use unless ``create=False``)."""
    from snakepit_variables.host_state import runtime_for

    return runtime_for(host).variables_for(session_id, create=create)


__all__ = [
    "ELIXIR",
    "PYTHON",
    "BatchError",
    "ChangeEvent",
    "HistoryEntry",
    "MemoryStore",
    "SessionVariables",
    "Variable",
    "VariableStore",
    "Variables",
    "Watch",
    "WatchLagged",
    "__version__",
    "variables_for",
]
