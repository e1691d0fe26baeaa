"""BridgeService's methods, read from the proto: the ones the host answers, the ones plugins may serve.

The service's method list comes from the compiled descriptor, so a method
added to the ``.proto`` is servable by a plugin with no change here. Only
the host's own answers are listed by name (a test checks them against the
servicer). The descriptor module is imported on first use: registering an
RPC is the first thing that needs it.
"""

from __future__ import annotations

import functools

HOST_METHODS = frozenset(
    {
        "Ping",
        "InitializeSession",
        "CleanupSession",
        "GetSession",
        "Heartbeat",
        "ExecuteTool",
        "ExecuteStreamingTool",
        "StreamTelemetry",
    }
)
"""BridgeService methods the host itself answers."""


@functools.cache
def service_methods() -> dict[str, bool]:
    """Every BridgeService method, with whether it streams its responses."""
    from snakepit_host.proto import snakepit_bridge_pb2 as pb

    methods = pb.DESCRIPTOR.services_by_name["BridgeService"].methods_by_name
    return {name: method.server_streaming for name, method in methods.items()}


def plugin_methods() -> list[str]:
    """The BridgeService methods a plugin may serve (``register.rpc``): all but the host's own."""
    return [name for name in service_methods() if name not in HOST_METHODS]
