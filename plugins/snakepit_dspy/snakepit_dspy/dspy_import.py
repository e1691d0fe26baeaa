"""The one place snakepit-dspy imports DSPy, on the first DSPy command (never at worker start).

LiteLLM, which DSPy loads for LM calls, fetches its model cost map over the
network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` says to use the bundled
one; that is set here, just before DSPy is imported, unless the user set
it. Setting it when the plugin is imported would change the environment of
every worker, DSPy command or not. Every other module reaches DSPy as
``from snakepit_dspy.dspy_import import dspy`` (a test checks that none
imports it directly), and a DSPy submodule the operator named (option
``--dspy-call-allow``, e.g. ``dspy.datasets``) through :func:`dspy_submodule`.
"""

from __future__ import annotations

import importlib
import os
import types

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy

__all__ = ["dspy", "dspy_submodule"]


def dspy_submodule(name: str) -> types.ModuleType:
    """``dspy`` or one of its submodules, imported if need be; only for names the operator wrote, never the wire's."""
    if name != "dspy" and not name.startswith("dspy."):
        raise ValueError(f"{name!r} is not dspy or a dspy submodule")
    return importlib.import_module(name)
