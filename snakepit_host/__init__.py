"""snakepit-host: a plugin host for the Python workers that Snakepit launches.

This module is the whole public face for plugin authors: every type a hook
signature or a plugin needs is importable from here
(``from snakepit_host import hookimpl, Registrar, SessionContext, InvalidArgument``),
and so are the modules a plugin that speaks the wire needs: ``codec`` (the
value codec and binary helpers), ``pb`` and ``pb_grpc`` (the generated
BridgeService messages and stubs), and the client ``SnakepitClient``. The
one public module beside it is :mod:`snakepit_host.testing` (the pytest
kit); :mod:`snakepit_host.hookspecs` is the hook reference.

Importing this package loads no plugins and nothing heavy: each name is
imported from its module on first access. No module of the host imports
this one (they import each other directly), so the type-only imports below
close no import circle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from snakepit_host import _startup
from snakepit_host._version import __version__

_startup.mark("python")  # the interpreter and site are up: the first of the host's code runs

if TYPE_CHECKING:
    from snakepit_host import codec as codec
    from snakepit_host._calls import CallObserver as CallObserver
    from snakepit_host._calls import CallScope as CallScope
    from snakepit_host._calls import current_call as current_call
    from snakepit_host._calls import span as span
    from snakepit_host._calls import tracing as tracing
    from snakepit_host._context import SessionContext as SessionContext
    from snakepit_host._elixir_client import ElixirClient as ElixirClient
    from snakepit_host._errors import AlreadyExists as AlreadyExists
    from snakepit_host._errors import Conflict as Conflict
    from snakepit_host._errors import DeadlineExceeded as DeadlineExceeded
    from snakepit_host._errors import DecodeError as DecodeError
    from snakepit_host._errors import EncodeError as EncodeError
    from snakepit_host._errors import FailedPrecondition as FailedPrecondition
    from snakepit_host._errors import InvalidArgument as InvalidArgument
    from snakepit_host._errors import NotFound as NotFound
    from snakepit_host._errors import PermissionDenied as PermissionDenied
    from snakepit_host._errors import RegistrationError as RegistrationError
    from snakepit_host._errors import ResourceExhausted as ResourceExhausted
    from snakepit_host._errors import SnakepitError as SnakepitError
    from snakepit_host._errors import Unavailable as Unavailable
    from snakepit_host._errors import Unimplemented as Unimplemented
    from snakepit_host._errors import VerbatimError as VerbatimError
    from snakepit_host._errors import describe_exception as describe_exception
    from snakepit_host._host_api import Host as Host
    from snakepit_host._host_api import StatusReporter as StatusReporter
    from snakepit_host._host_config import HostConfig as HostConfig
    from snakepit_host._names import check_key as check_key
    from snakepit_host._names import check_name as check_name
    from snakepit_host._options import OptionRegistrar as OptionRegistrar
    from snakepit_host._registry import TOOL_OPTIONS_ATTRIBUTE as TOOL_OPTIONS_ATTRIBUTE
    from snakepit_host._registry import Command as Command
    from snakepit_host._registry import EntryRegistrar as EntryRegistrar
    from snakepit_host._registry import LazyTarget as LazyTarget
    from snakepit_host._registry import Registrar as Registrar
    from snakepit_host._registry import Registry as Registry
    from snakepit_host._registry import RegistryEntry as RegistryEntry
    from snakepit_host._registry import Tool as Tool
    from snakepit_host._registry import declared_tool_options as declared_tool_options
    from snakepit_host._server import RpcCall as RpcCall
    from snakepit_host._sessions import DEFAULT_SESSION_ID as DEFAULT_SESSION_ID
    from snakepit_host._sessions import Session as Session
    from snakepit_host._sessions import SessionStore as SessionStore
    from snakepit_host._value_types import ValueType as ValueType
    from snakepit_host.codec import Result as Result
    from snakepit_host.codec import StreamChunk as StreamChunk
    from snakepit_host.codec import TypedBuffer as TypedBuffer
    from snakepit_host.hookspecs import HOOK_API_VERSION as HOOK_API_VERSION
    from snakepit_host.hookspecs import hookimpl as hookimpl
    from snakepit_host.hookspecs import hookspec as hookspec
    from snakepit_host.hookspecs import registration_hookspec as registration_hookspec
    from snakepit_host.host_client import RemoteError as RemoteError
    from snakepit_host.host_client import SnakepitClient as SnakepitClient
    from snakepit_host.proto import snakepit_bridge_pb2, snakepit_bridge_pb2_grpc

    pb = snakepit_bridge_pb2
    pb_grpc = snakepit_bridge_pb2_grpc

# name -> module that defines it; resolved by ``__getattr__`` on first use.
_EXPORTS: dict[str, str] = {
    # hooks
    "HOOK_API_VERSION": "snakepit_host.hookspecs",
    "hookimpl": "snakepit_host.hookspecs",
    "hookspec": "snakepit_host.hookspecs",
    "registration_hookspec": "snakepit_host.hookspecs",
    # what registration hooks receive and create
    "Registrar": "snakepit_host._registry",
    "EntryRegistrar": "snakepit_host._registry",
    "RegistryEntry": "snakepit_host._registry",
    "OptionRegistrar": "snakepit_host._options",
    "Command": "snakepit_host._registry",
    "Tool": "snakepit_host._registry",
    "LazyTarget": "snakepit_host._registry",
    "TOOL_OPTIONS_ATTRIBUTE": "snakepit_host._registry",
    "declared_tool_options": "snakepit_host._registry",
    "check_name": "snakepit_host._names",
    "ValueType": "snakepit_host._value_types",
    # what handlers and lifecycle hooks receive
    "SessionContext": "snakepit_host._context",
    "Session": "snakepit_host._sessions",
    "SessionStore": "snakepit_host._sessions",
    "DEFAULT_SESSION_ID": "snakepit_host._sessions",
    "Host": "snakepit_host._host_api",
    "HostConfig": "snakepit_host._host_config",
    "Registry": "snakepit_host._registry",
    "StatusReporter": "snakepit_host._host_api",
    "RpcCall": "snakepit_host._server",
    "ElixirClient": "snakepit_host._elixir_client",
    "check_key": "snakepit_host._names",
    # the call in progress: its correlation id, observers, child spans
    "current_call": "snakepit_host._calls",
    "CallScope": "snakepit_host._calls",
    "CallObserver": "snakepit_host._calls",
    "span": "snakepit_host._calls",
    "tracing": "snakepit_host._calls",
    # what handlers return
    "Result": "snakepit_host.codec",
    "StreamChunk": "snakepit_host.codec",
    "TypedBuffer": "snakepit_host.codec",
    # what handlers raise
    "SnakepitError": "snakepit_host._errors",
    "InvalidArgument": "snakepit_host._errors",
    "DecodeError": "snakepit_host._errors",
    "EncodeError": "snakepit_host._errors",
    "NotFound": "snakepit_host._errors",
    "AlreadyExists": "snakepit_host._errors",
    "Conflict": "snakepit_host._errors",
    "FailedPrecondition": "snakepit_host._errors",
    "Unavailable": "snakepit_host._errors",
    "DeadlineExceeded": "snakepit_host._errors",
    "PermissionDenied": "snakepit_host._errors",
    "Unimplemented": "snakepit_host._errors",
    "RegistrationError": "snakepit_host._errors",
    "ResourceExhausted": "snakepit_host._errors",
    "VerbatimError": "snakepit_host._errors",
    "describe_exception": "snakepit_host._errors",
    # calling a host over gRPC (tests, tools, the CLI)
    "SnakepitClient": "snakepit_host.host_client",
    "RemoteError": "snakepit_host.host_client",
}

# name -> module that is the value itself (the wire's modules, under the names plugins use)
_MODULES: dict[str, str] = {
    "codec": "snakepit_host.codec",
    "pb": "snakepit_host.proto.snakepit_bridge_pb2",
    "pb_grpc": "snakepit_host.proto.snakepit_bridge_pb2_grpc",
}

__all__ = ["__version__", *_EXPORTS, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'snakepit_host' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
