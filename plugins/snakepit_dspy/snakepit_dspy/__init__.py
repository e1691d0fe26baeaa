"""snakepit-dspy: DSPy as snakepit-host commands.

Importing this package is cheap and never imports ``dspy``: the entry
module (:mod:`snakepit_dspy.plugin`) registers every command as a lazy
``"snakepit_dspy.commands:<handler>"`` reference, so DSPy (about 0.5-0.9 s
and 60 MB) loads on the first DSPy command, not when a worker starts, through
:mod:`snakepit_dspy.dspy_import`.
"""

from __future__ import annotations

__version__ = "0.1.0"
