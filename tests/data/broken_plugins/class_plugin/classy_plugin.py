"""A healthy plugin given as a class: the host instantiates it, so its hooks are bound methods."""

from snakepit_host import hookimpl


class Plugin:
    def __init__(self):
        self.greeting = "hello from a class"

    @hookimpl
    def register_commands(self, register):
        register.command("classy_hello", lambda ctx, params: self.greeting)
