"""snakepit-dspy: DSPy as snakepit-host commands.

Importing this package is cheap and never imports ``dspy``: the entry
module (:mod:`snakepit_dspy.plugin`) registers every command as a lazy
``"snakepit_dspy.commands:<handler>"`` reference, so DSPy (about 0.5-0.9 s
and 60 MB) loads on the first DSPy command, not when a worker starts.

``LITELLM_LOCAL_MODEL_COST_MAP`` is set here, unless the user set it, so
that LiteLLM reads its bundled model cost map instead of fetching one over
the network when DSPy first imports it. Every module of this package that
imports ``dspy`` is imported after this file has run.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
