"""Hooks this plugin adds for other plugins (declared through the host's ``add_hookspecs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from snakepit_host.hookspecs import hookspec

if TYPE_CHECKING:
    from snakepit_host import Host
    from snakepit_variables.stores import VariableStore


@hookspec
def register_variable_stores(register: Callable[[str, Callable[[Host], VariableStore]], None]) -> None:
    """Offer storage backends for session variables.

    Call ``register(name, factory)``; ``factory(host)`` returns a
    :class:`~snakepit_variables.stores.VariableStore` and is called only if
    the host is configured to use ``name`` (``--variables-store NAME`` or
    ``SNAKEPIT_VARIABLES_STORE=NAME``). Mark the implementation
    ``@hookimpl(optionalhook=True)`` so that it loads without this plugin.

    :param register: ``register(name, factory)``.

    .. versionadded:: 0.1
    """
