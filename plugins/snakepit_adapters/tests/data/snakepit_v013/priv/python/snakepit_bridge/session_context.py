"""Stand-in for 0.13's minimal SessionContext. snakepit-host gives adapters its own context; this one is unused."""

import snakepit_bridge_pb2  # noqa: F401  (the real one imports the generated messages at import time)


class SessionContext:
    def __init__(self, stub, session_id, request_metadata=None):
        self.stub = stub
        self.session_id = session_id
        self.request_metadata = dict(request_metadata or {})
