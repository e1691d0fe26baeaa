"""What DSPy offers, read from the installed ``dspy`` by introspection.

Submodules are reached by walking public attributes from the imported
``dspy`` package (never by importing a name from the wire); this only
reads, and reaching a name here never makes it callable (``call_dspy`` has
its own allow-list, which each entry of DSPex's schema reports). Results are
cached per process: the installed DSPy does not change while a worker runs.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

from snakepit_dspy.allow_list import kind_of
from snakepit_dspy.catalog import CALL_DSPY_NAMES, INSTANCE_METHODS, METRICS, OPTIMIZERS, PROGRAM_MODULE_TYPES
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


def public_members(module_name: str) -> list[tuple[str, Any]]:
    """The classes and functions a dspy module defines or re-exports from DSPy, by name."""
    module = submodule(module_name)
    members = []
    for name in sorted(dir(module)):
        obj = None if name.startswith("_") else getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and str(getattr(obj, "__module__", "")).startswith("dspy"):
            members.append((name, obj))
    return members


@functools.lru_cache(maxsize=32)
def discover(module_name: str) -> dict[str, Any]:
    """Classes by category, functions and submodules of a dspy module, with parameters and docs."""
    module = submodule(module_name)
    found: dict[str, Any] = {name: {} for name, _ in _CATEGORIES}
    found.update(classes={}, functions={})
    found["submodules"] = [
        name for name in sorted(dir(module)) if not name.startswith("_") and _is_dspy_module(getattr(module, name))
    ]
    for name, obj in public_members(module_name):
        if inspect.isclass(obj):
            category = next((c for c, base in _CATEGORIES if issubclass(obj, base)), "classes")
            found[category][name] = describe_callable(obj)
        else:
            found["functions"][name] = describe_callable(obj)
    return {"module": module_name, "dspy_version": dspy.__version__, **found}


def _is_dspy_module(obj: Any) -> bool:
    return isinstance(obj, types.ModuleType) and obj.__name__.startswith("dspy.")


@functools.lru_cache(maxsize=32)
def dspex_schema(module_name: str, reachable: frozenset[str]) -> dict[str, Any]:
    """DSPex's shape: ``schema`` by name, each with ``type``, ``docstring``, ``methods`` (always a map) and
    ``call_dspy`` (whether its name is among ``reachable``); the methods are the constructor and those
    call_dspy calls on a stored instance of it."""
    schema = {}
    for name, obj in public_members(module_name):
        qualified = f"{module_name}.{name}"
        if inspect.isclass(obj):
            entry = _dspex_class(obj, INSTANCE_METHODS[CALL_DSPY_NAMES.get(qualified) or kind_of(obj)])
        else:
            entry = {"type": "function", **_dspex_method(obj, f"DSPy {name} function"), "methods": {}}
        schema[name] = {**entry, "module": obj.__module__, "call_dspy": qualified in reachable}
    return {"schema": schema, "module_path": module_name, "discovered_count": len(schema)}


def _dspex_class(cls: Any, methods: tuple[str, ...]) -> dict[str, Any]:
    entries = {"__init__": _dspex_method(cls.__init__, f"{cls.__name__}.__init__ method")}
    for method in methods:
        function = getattr(cls, method, None)
        if callable(function):
            entries[method] = _dspex_method(function, f"{cls.__name__}.{method} method")
    return {"type": "class", "docstring": _first_paragraph(cls) or f"DSPy {cls.__name__} class", "methods": entries}


def _dspex_method(function: Any, fallback: str) -> dict[str, Any]:
    """``signature`` as Python writes it (``self`` included, as DSPex's handler wrote it), ``parameters``, docs."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return {"signature": "(*args, **kwargs)", "parameters": [], "docstring": fallback}
    parameters = [_parameter(p) for p in signature.parameters.values() if p.name != "self" and p.kind not in _VARIADIC]
    own = inspect.cleandoc(function.__doc__ or "")  # not getdoc: an undocumented __init__ would show object's
    return {"signature": str(signature), "parameters": parameters, "docstring": _paragraph(own) or fallback}


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _first_paragraph(obj: Any) -> str:
    return _paragraph(inspect.getdoc(obj) or "")


def _paragraph(doc: str) -> str:
    return " ".join(doc.split("\n\n", 1)[0].split())


def describe_callable(obj: Any) -> dict[str, Any]:
    """First docstring paragraph, qualified name and call parameters (a class's constructor's)."""
    info: dict[str, Any] = {"qualname": f"{obj.__module__}.{obj.__qualname__}", "doc": _first_paragraph(obj)}
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
