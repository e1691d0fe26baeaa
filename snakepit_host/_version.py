"""The host's version, in a module of its own so that host modules never import the package root."""

__version__ = "0.1.0"
