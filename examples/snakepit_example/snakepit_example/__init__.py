"""snakepit-example: a third-party plugin for snakepit-host, written to be copied.

What it shows, file by file:

- ``plugin.py``: the hooks (the entry point), importing nothing heavy;
- ``money.py``: a value type with constraints (``money``);
- ``tools.py``: a tool with typed parameters and a streaming tool;
- ``sessions.py``: lifecycle hooks' bookkeeping and a plain command.

Importing this package does nothing else: the host imports ``plugin``.
"""

__version__ = "0.1.0"
