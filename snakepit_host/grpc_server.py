"""Launch script with the file name Snakepit expects.

Snakepit runs ``<python> .../grpc_server.py <adapter args> --port ...
--elixir-address ... --snakepit-run-id RUN``, and its orphan cleanup finds
workers by ``grpc_server.py`` and ``--snakepit-run-id`` in their command
line. Point Snakepit at this file (``snakepit-host script-path``) and the
host is launched, tracked and cleaned up like Snakepit's own server.
"""

import os
import sys

# Run as a script, this file's folder (the package itself) heads sys.path;
# drop it so that the package's modules cannot shadow top-level ones.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

from snakepit_host import _startup

_startup.pause_gc()  # until the worker is ready (see snakepit_host._startup)

from snakepit_host.cli import main  # noqa: E402  (after the pause: this import is most of the start)

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
