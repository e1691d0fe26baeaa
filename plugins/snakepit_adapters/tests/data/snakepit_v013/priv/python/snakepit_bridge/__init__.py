"""Stand-in for Snakepit 0.13's snakepit_bridge (test data; see tests/data/README.md)."""

from snakepit_bridge.heartbeat import HeartbeatClient, HeartbeatConfig
from snakepit_bridge.logging_config import configure_logging, get_logger
from snakepit_bridge.session_context import SessionContext
from snakepit_bridge.zero_copy import ZeroCopyRef

__version__ = "2.0.0"
__all__ = ["HeartbeatClient", "HeartbeatConfig", "SessionContext", "ZeroCopyRef", "configure_logging", "get_logger"]
