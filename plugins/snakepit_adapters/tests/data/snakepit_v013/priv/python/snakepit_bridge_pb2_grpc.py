"""Stand-in for Snakepit's generated stubs: it needs the generated messages, as the real one does."""

import snakepit_bridge_pb2  # noqa: F401
