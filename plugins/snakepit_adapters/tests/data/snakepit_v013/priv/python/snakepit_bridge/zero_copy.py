class ZeroCopyRef:
    """The descriptor 0.13 passes for a zero-copy payload; ``to_payload()`` is what travels."""

    def __init__(self, payload):
        self.payload = dict(payload)

    def to_payload(self):
        return dict(self.payload, __snakepit_zero_copy__=True)
