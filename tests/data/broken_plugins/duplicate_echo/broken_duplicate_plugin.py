"""Registers a command with the name of the built-in 'echo'."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register):
    register.command("echo", lambda ctx, params: "not the real echo")
