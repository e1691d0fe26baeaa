"""What DSPy offers, read from the installed ``dspy`` by introspection.

Submodules are reached by walking public attributes from the imported
``dspy`` package (never by importing a name from the wire). Results are
cached per process: the installed DSPy does not change while a worker runs.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

from snakepit_dspy.catalog import METRICS, OPTIMIZERS, PROGRAM_MODULE_TYPES
from snakepit_dspy.dspy_import import dspy
from snakepit_host import InvalidArgument, NotFound

_CATEGORIES: tuple[tuple[str, type], ...] = (
    ("modules", dspy.Module),
    ("optimizers", dspy.teleprompt.Teleprompter),
    ("adapters", dspy.Adapter),
    ("lms", dspy.BaseLM),
    ("errors", BaseException),
)


def submodule(name: str) -> types.ModuleType:
    """``dspy`` or one of its public submodules, by attribute walk."""
    parts = name.split(".")
    if parts[0] != "dspy" or any(not p.isidentifier() or p.startswith("_") for p in parts):
        raise InvalidArgument(
            f"module must be 'dspy' or a public dspy submodule like 'dspy.predict', got {name!r:.100}"
        )
    module: Any = dspy
    for part in parts[1:]:
        module = getattr(module, part, None)
        if not isinstance(module, types.ModuleType) or not module.__name__.startswith("dspy."):
            raise NotFound(f"{name!r:.100} is not a dspy submodule")
    return module  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=32)
def discover(module_name: str) -> dict[str, Any]:
    """Classes by category, functions and submodules of a dspy module, with parameters and docs."""
    module = submodule(module_name)
    found: dict[str, Any] = {name: {} for name, _ in _CATEGORIES}
    found.update(classes={}, functions={}, submodules=[])
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            if obj.__name__.startswith("dspy."):
                found["submodules"].append(name)
            continue
        if not str(getattr(obj, "__module__", "")).startswith("dspy"):
            continue
        if inspect.isclass(obj):
            category = next((c for c, base in _CATEGORIES if issubclass(obj, base)), "classes")
            found[category][name] = describe_callable(obj)
        elif inspect.isfunction(obj):
            found["functions"][name] = describe_callable(obj)
    return {"module": module_name, "dspy_version": dspy.__version__, **found}


def describe_callable(obj: Any) -> dict[str, Any]:
    """First docstring paragraph, qualified name and call parameters (a class's constructor's)."""
    doc = inspect.getdoc(obj) or ""
    info: dict[str, Any] = {
        "qualname": f"{obj.__module__}.{obj.__qualname__}",
        "doc": " ".join(doc.split("\n\n", 1)[0].split()),
    }
    try:
        # A class's metaclass may define __call__(*args, **kwargs); its __init__ has the real parameters.
        signature = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    except (TypeError, ValueError):
        info["parameters"] = None
        return info
    info["parameters"] = [
        _parameter(p) for p in signature.parameters.values() if p.name not in ("self", "args", "kwargs")
    ]
    return info


def _parameter(parameter: inspect.Parameter) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": parameter.name, "required": parameter.default is inspect.Parameter.empty}
    if parameter.annotation is not inspect.Parameter.empty:
        annotation = parameter.annotation
        entry["type"] = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if parameter.default is not inspect.Parameter.empty:
        default = parameter.default
        entry["default"] = default if default is None or isinstance(default, (str, int, float, bool)) else repr(default)
    return entry


def module_listing() -> dict[str, Any]:
    top = discover("dspy")
    return {
        "dspy_version": dspy.__version__,
        "modules": sorted(top["modules"]),
        "optimizers": sorted(top["optimizers"]),
        "program_module_types": list(PROGRAM_MODULE_TYPES),
        "program_optimizers": list(OPTIMIZERS),
        "metrics": list(METRICS),
    }
