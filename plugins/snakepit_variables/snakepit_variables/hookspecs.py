"""Hooks this plugin adds for other plugins (declared through the host's ``add_hookspecs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakepit_host import registration_hookspec

if TYPE_CHECKING:
    from snakepit_host import EntryRegistrar


@registration_hookspec("variable_stores")
def register_variable_stores(register: EntryRegistrar) -> None:
    """Offer storage backends for session variables.

    Call ``register(name, factory)``; ``factory(host)`` returns a
    :class:`~snakepit_variables.stores.VariableStore` and is called only if
    the host is configured to use ``name`` (``--variables-store NAME`` or
    ``SNAKEPIT_VARIABLES_STORE=NAME``). The host runs this hook like its own
    registration hooks: each store records your plugin as its owner, is
    listed under ``provides`` as ``variable_stores``, and a name another
    plugin took, or an exception, withdraws your plugin with the reason.
    Mark the implementation ``@hookimpl(optionalhook=True)`` so that it
    loads without this plugin.

    :param register: ``register(name, factory)``, bound to your plugin.

    .. versionadded:: 0.1
    """
