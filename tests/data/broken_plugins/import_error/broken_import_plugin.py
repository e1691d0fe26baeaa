"""Fails on import, like a plugin whose dependency is missing."""

import snakepit_no_such_dependency  # noqa: F401
