from dataclasses import dataclass


@dataclass(frozen=True)
class HeartbeatConfig:
    enabled: bool = True
    interval_ms: int = 2000
    timeout_ms: int = 10000
    max_missed_heartbeats: int = 3
    initial_delay_ms: int = 0
    jitter_ms: int = 0
    dependent: bool = True


class HeartbeatClient:
    def __init__(self, stub, session_id, config=None, on_threshold_exceeded=None):
        self.stub, self.session_id, self.config = stub, session_id, config or HeartbeatConfig()
