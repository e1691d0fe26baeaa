"""A hook implementation asking for an argument the spec does not have (pluggy refuses it)."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register, nonsense):
    register.command("never_registered", lambda ctx, params: None)
