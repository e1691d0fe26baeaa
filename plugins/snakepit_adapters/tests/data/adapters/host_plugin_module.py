"""Not an adapter: a host plugin module, which --adapter also accepts."""

from snakepit_host import hookimpl


@hookimpl
def register_commands(register):
    register.command("from_host_plugin", lambda ctx, params: "plugin answered")
