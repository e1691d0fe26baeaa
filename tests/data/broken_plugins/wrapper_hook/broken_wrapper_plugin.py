"""A new-style pluggy wrapper around a host hook: the host calls plugins one by one, so it refuses wrappers."""

from snakepit_host import hookimpl


@hookimpl(wrapper=True)
def register_commands(register):
    register.command("wrapped", lambda ctx, params: None)
    return (yield)
