"""An ``async def`` registration hook: called, it would register nothing; the host refuses it at load."""

from snakepit_host import hookimpl


@hookimpl
async def register_commands(register):
    register.command("never_awaited", lambda ctx, params: None)
