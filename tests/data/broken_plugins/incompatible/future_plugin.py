"""Requires snakepit-host>=9. Raises if imported: the host must skip it before importing."""

raise RuntimeError("future_plugin was imported although its host requirement does not match")
