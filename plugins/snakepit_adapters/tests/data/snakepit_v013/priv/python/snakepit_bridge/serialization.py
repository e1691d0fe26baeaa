"""Stand-in: adapters import TypeSerializer from here (SnakeBridge decodes Elixir results with it)."""

import json

BINARY_THRESHOLD = 10_240


class TypeSerializer:
    @staticmethod
    def decode_any(any_msg, binary_data=None):
        return json.loads(any_msg.value) if any_msg.value else None
