"""Import an ``--adapter`` class the way Snakepit's server does, without letting it disturb the host.

The host has already made its generated protocol modules answer imports of
Snakepit's top-level ``snakepit_bridge_pb2`` / ``_pb2_grpc`` (the two cannot
both load). During the import and the trial instantiation, anything the
adapter prints goes to stderr: stdout carries only Snakepit 0.4's readiness
line. A failure of either is the adapter's error, in one line.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from snakepit_adapters.discovery import NotAnAdapter, inspect_adapter
from snakepit_host import hookimpl

if TYPE_CHECKING:
    from snakepit_adapters.served import ServedAdapter


def serve(spec: str) -> ServedAdapter | None:
    """The plugin object serving ``spec``, or None when ``spec`` is a host plugin (the host loads those)."""
    from snakepit_adapters.served import ServedAdapter

    with stdout_to_stderr():
        target = import_target(spec)
    if is_host_plugin(target):
        return None
    if not inspect.isclass(target):
        raise NotAnAdapter(
            f"{spec} is a {type(target).__name__}, not a class: neither a Snakepit adapter nor a host plugin"
        )
    adapter = inspect_adapter(target, spec)
    with stdout_to_stderr():
        try:
            target()
        except Exception as exc:
            raise RuntimeError(f"{target.__name__}() failed: {type(exc).__name__}: {exc}") from exc
    return ServedAdapter(adapter)


def import_target(spec: str) -> Any:
    """``pkg.mod.Class`` (split at the last dot, as Snakepit does), ``pkg.mod:Class`` or a module."""
    module_name, _, attribute = spec.partition(":") if ":" in spec else spec.rpartition(".")
    try:
        try:
            module = importlib.import_module(module_name)
        except (ModuleNotFoundError, ValueError) as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name != module_name:
                raise  # the module exists; something it imports does not
            return importlib.import_module(spec)  # a module named with dots, or a bare module name
        if not attribute:
            return module
        try:
            return getattr(module, attribute)
        except AttributeError:
            return importlib.import_module(spec)
    except Exception as exc:
        raise ImportError(f"cannot import adapter {spec}: {type(exc).__name__}: {exc}") from exc


def is_host_plugin(target: Any) -> bool:
    marker = f"{hookimpl.project_name}_impl"
    return any(hasattr(getattr(target, name, None), marker) for name in dir(target) if not name.startswith("__"))


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what is written to stdout (the Python stream and file descriptor 1) to stderr meanwhile."""
    sys.stdout.flush()
    saved_stream = sys.stdout
    saved_fd: int | None = None
    try:
        out, err = sys.__stdout__.fileno(), sys.__stderr__.fileno()  # type: ignore[union-attr]
        saved_fd = os.dup(out)
        os.dup2(err, out)
    except (AttributeError, OSError, ValueError):  # no real descriptors (embedded, captured): the stream still moves
        saved_fd = None
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stdout = saved_stream
        if saved_fd is not None:
            os.dup2(saved_fd, out)
            os.close(saved_fd)
