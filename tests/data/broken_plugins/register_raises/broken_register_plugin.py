"""register_commands registers one command, then raises: the partial registration must be withdrawn."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register):
    register.command("half_done", lambda ctx, params: None)
    raise RuntimeError("database is not configured")
