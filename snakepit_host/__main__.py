"""``python -m snakepit_host`` is ``snakepit-host``."""

import sys

from snakepit_host import _startup

_startup.pause_gc()  # until the worker is ready (see snakepit_host._startup)

from snakepit_host.cli import main  # noqa: E402  (after the pause)

sys.exit(main())
