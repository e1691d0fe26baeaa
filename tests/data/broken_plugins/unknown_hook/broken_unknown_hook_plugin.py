"""Implements a hook that does not exist (a typo of register_commands)."""

from snakepit_host import hookimpl


@hookimpl
def register_comands(register):
    register.command("typo", lambda ctx, params: None)
