"""A healthy plugin: proves the host serves the good plugins while others are broken."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register):
    register.command("good_hello", lambda ctx, params: "hello from good")
