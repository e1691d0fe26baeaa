"""Registers 'good_hello', which the 'good' plugin (loaded first: names sort) already holds."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register):
    register.command("twin_only", lambda ctx, params: "twin")
    register.command("good_hello", lambda ctx, params: "hello from twin")
