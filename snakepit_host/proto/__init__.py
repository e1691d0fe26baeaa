"""BridgeService messages (``snakepit_bridge_pb2``) and stubs (``snakepit_bridge_pb2_grpc``), generated.

Snakepit's own Python bridge imports generated modules of the same proto
package (``snakepit.bridge``) under *top-level* names, ``snakepit_bridge_pb2``
and ``snakepit_bridge_pb2_grpc``. protobuf refuses a second definition of
the same message names in one process, so Snakepit's and ours cannot both
load: :func:`answer_snakepit_imports` makes ours answer those imports. Ours
holds every message, field and RPC of Snakepit 0.4.1 and 0.13.0, with the
same names and numbers (the one difference, ``GetSessionResponse`` field 4,
is read by no Snakepit Python code).
"""

from __future__ import annotations

import sys

SNAKEPIT_MODULE_NAMES = ("snakepit_bridge_pb2", "snakepit_bridge_pb2_grpc")


def answer_snakepit_imports() -> None:
    """Make ``import snakepit_bridge_pb2`` / ``snakepit_bridge_pb2_grpc`` give this package's modules.

    Idempotent. Call it before anything imports Snakepit's ``snakepit_bridge``
    package. If Snakepit's own generated module is already loaded, nothing
    can be replaced any more: :class:`ImportError` says so and where it came from.
    """
    for name in SNAKEPIT_MODULE_NAMES:
        present = sys.modules.get(name)
        if present is not None and not getattr(present, "__name__", "").startswith(f"{__name__}."):
            raise ImportError(
                f"{name} was imported from {getattr(present, '__file__', None) or present!r} before snakepit-host "
                "could stand in for it; Snakepit's generated modules and the host's describe the same proto "
                "package and cannot both load in one process"
            )
    from snakepit_host.proto import snakepit_bridge_pb2, snakepit_bridge_pb2_grpc

    sys.modules.setdefault("snakepit_bridge_pb2", snakepit_bridge_pb2)
    sys.modules.setdefault("snakepit_bridge_pb2_grpc", snakepit_bridge_pb2_grpc)
