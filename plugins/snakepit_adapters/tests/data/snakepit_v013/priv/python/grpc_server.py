"""Placeholder for Snakepit's server script: tests pass its path as Snakepit does (--snakepit-script)."""

raise SystemExit("stand-in: snakepit-host runs in place of this script")
