"""Every hook spec of this environment: the host's, plus those the installed plugins declare."""

from __future__ import annotations

import pluggy

from snakepit_host import hookspecs
from snakepit_host._plugin_manager import PluginManager


def all_hook_specs() -> dict[str, pluggy.HookCaller]:
    """Every specified hook once the installed plugins have added theirs, by name."""
    manager = PluginManager()
    manager.load_builtins()
    manager.load_entry_points()
    return {name: caller for name, caller in vars(manager.pm.hook).items() if caller.has_spec()}


def plugin_defined_hooks() -> dict[str, pluggy.HookCaller]:
    """The hooks plugins declared (``add_hookspecs``), with their specs."""
    return {name: caller for name, caller in all_hook_specs().items() if name not in hookspecs.hook_names()}
