"""Stand-in for Snakepit 0.4.1's snakepit_bridge (test data; see tests/data/README.md)."""

from snakepit_bridge.session_context import SessionContext, VariableNotFoundError, VariableProxy
from snakepit_bridge.types import TypeValidator, VariableType

__version__ = "2.0.0"
__all__ = ["SessionContext", "TypeValidator", "VariableNotFoundError", "VariableProxy", "VariableType"]
