"""Entry module of snakepit-adapters (``[project.entry-points.snakepit] adapters``).

It imports only the host: the adapter machinery loads when the host is
started with an ``--adapter`` that is not a host plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import hookimpl

if TYPE_CHECKING:
    import argparse


@hookimpl
def serve_adapter(spec: str) -> object | None:
    from snakepit_adapters.loading import serve

    return serve(spec)


@hookimpl
def add_arguments(parser: argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--adapter-protocol",
        dest="adapter_protocol",
        choices=("0.4", "0.13"),
        default=None,
        help="encode the adapter's results, errors and stream items as this Snakepit version's server does "
        "(default $SNAKEPIT_ADAPTER_PROTOCOL, else from how Snakepit launched the worker)",
    )
