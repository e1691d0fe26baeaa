"""The one place snakepit-dspy imports DSPy, on the first DSPy command (never at worker start).

LiteLLM, which DSPy loads for LM calls, fetches its model cost map over the
network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` says to use the bundled
one; that is set here, just before DSPy is imported, unless the user set
it. Setting it when the plugin is imported would change the environment of
every worker, DSPy command or not. Every other module reaches DSPy as
``from snakepit_dspy.dspy_import import dspy`` (a test checks that none
imports it directly).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy

__all__ = ["dspy"]
