"""Stand-in for 0.4.1's SessionContext, whose variable API talks to Elixir. snakepit-host's own is used instead."""

import snakepit_bridge_pb2  # noqa: F401  (the real one imports the generated messages at import time)


class VariableNotFoundError(KeyError):
    """Raised when a variable is not found."""


class VariableProxy:
    def __init__(self, context, name):
        self._context, self._name = context, name


class SessionContext:
    def __init__(self, stub, session_id, strict_mode=False):
        self.stub, self.session_id, self.strict_mode = stub, session_id, strict_mode

    def register_variable(self, name, var_type, initial_value, constraints=None, metadata=None, ttl=None):
        raise NotImplementedError("stand-in: snakepit-host hands adapters its own context")

    def get_variable(self, identifier):
        raise NotImplementedError("stand-in: snakepit-host hands adapters its own context")
