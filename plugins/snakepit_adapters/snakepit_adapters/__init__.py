"""snakepit-adapters: Snakepit's own Python adapters (``--adapter pkg.module.Class``), served by snakepit-host.

The entry module is :mod:`snakepit_adapters.plugin`; see the distribution's README.
"""
