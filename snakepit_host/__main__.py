"""``python -m snakepit_host`` is ``snakepit-host``."""

import sys

from snakepit_host.cli import main

sys.exit(main())
