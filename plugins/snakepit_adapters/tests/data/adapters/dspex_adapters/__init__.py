"""A DSPex-shaped adapter package (interface of DSPex's dspex_adapters, no DSPy)."""

IMPORTED = True
