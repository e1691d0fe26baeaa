"""``call_dspy``: a public function or class of the ``dspy`` namespace, called by name from the wire.

The name is resolved by walking attributes from the already-imported
``dspy`` package (nothing is imported by name), through dspy modules and
classes only, and the object reached must be defined in ``dspy``. Refused:
private names, anything outside ``dspy``, and parts of DSPy that reach
beyond one call: process-wide settings and logging, file loading
(``dspy.load`` unpickles), code interpreters, and LM / embedding clients,
which could send the environment's API keys to any address (LMs are made
by ``configure_lm``), and media types, which read local files or fetch URLs.
Signature strings among the arguments are held to the same type names as
every other signature (DSPy would import an unknown name).
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.module_runner import to_jsonable
from snakepit_dspy.signatures import check_type_names, describe_signature
from snakepit_host import PermissionDenied

DENIED_NAMES = frozenset(
    {
        # process-wide settings, history and logging
        "configure",
        "context",
        "settings",
        "load_settings",
        "configure_cache",
        "configure_dspy_loggers",
        "enable_logging",
        "disable_logging",
        "enable_litellm_logging",
        "disable_litellm_logging",
        "track_usage",
        "inspect_history",
        # files and pickles
        "load",
        "save",
        # code execution
        "PythonInterpreter",
        "LocalInterpreter",
        "CodeInterpreter",
        "ProgramOfThought",
        "CodeAct",
        "RLM",
        "resolve_interpreter_factory",
        # media types: their constructors and from_* methods read local files or fetch URLs
        "Image",
        "Audio",
        "File",
        "from_path",
        "from_file",
        "from_url",
        # LM, embedding and fine-tuning clients
        "LM",
        "BaseLM",
        "Embedder",
        "ColBERTv2",
        "Provider",
        "TrainingJob",
        "BootstrapFinetune",
        "BetterTogether",
        # wrappers that return functions, and internals
        "asyncify",
        "syncify",
        "streamify",
        "streaming",
        "utils",
        "dsp",
        "clients",
        "lm15",
    }
)


def _refuse(target: str, reason: str) -> PermissionDenied:
    return PermissionDenied(
        f"call_dspy: {target[:120]!r} is refused: {reason}. call_dspy reaches public functions and classes "
        "of the dspy namespace only, not process-wide settings, file loading, code interpreters or LM clients "
        "(use configure_lm for LMs)"
    )


def resolve(target: str) -> Any:
    """The dspy function or class named ``target`` ('dspy.X.Y' or 'X.Y'), or PermissionDenied."""
    parts = target.split(".")
    if parts[0] == "dspy":
        parts = parts[1:]
    if not parts:
        raise _refuse(target, "name a function or class under dspy, e.g. 'dspy.Predict'")
    obj: Any = dspy
    for index, part in enumerate(parts):
        if not part.isidentifier() or part.startswith("_"):
            raise _refuse(target, f"'{part[:60]}' is not a public name")
        if part in DENIED_NAMES:
            raise _refuse(target, f"'{part}' is on the deny list")
        if index and not _walkable(obj):
            raise _refuse(target, f"'{parts[index - 1]}' is not a dspy module or class")
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise _refuse(target, f"dspy has no '{'.'.join(parts[: index + 1])}'") from None
    if isinstance(obj, types.ModuleType):
        raise _refuse(target, "it is a module, not a function or class")
    if not callable(obj):
        raise _refuse(target, "it is not callable")
    if not _defined_in_dspy(obj):
        raise _refuse(target, f"it is defined in {getattr(obj, '__module__', None)!r}, outside dspy")
    return obj


ENDPOINT_KEYS = frozenset({"api_base", "base_url", "api_key", "api_version", "azure_ad_token"})
"""Keyword names that would point a call's LM at another address or key; configure_lm owns those."""


def check_arguments(target: str, value: Any) -> None:
    """PermissionDenied for arguments that would import or evaluate a name, or redirect the LM.

    A string DSPy would parse as a signature (one with '->') may only name
    allowed types; a mapping may not set an LM endpoint or key (for example
    ``dspy.Predict(..., config={"api_base": ...})`` would send the session's
    key there).
    """
    if isinstance(value, str):
        if "->" in value:
            try:
                check_type_names(value)
            except ValueError as exc:
                raise _refuse(target, f"argument {value[:80]!r} names a type that is not allowed ({exc})") from None
    elif isinstance(value, dict):
        redirecting = sorted(ENDPOINT_KEYS.intersection(value))
        if redirecting:
            raise _refuse(target, f"argument key(s) {', '.join(redirecting)} would redirect the LM; use configure_lm")
        for item in value.values():
            check_arguments(target, item)
    elif isinstance(value, list):
        for item in value:
            check_arguments(target, item)


def _defined_in_dspy(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == "dspy" or module.startswith("dspy."))


def _walkable(obj: Any) -> bool:
    if isinstance(obj, types.ModuleType):
        return obj.__name__ == "dspy" or obj.__name__.startswith("dspy.")
    return inspect.isclass(obj) and _defined_in_dspy(obj)


def qualified_name(obj: Any) -> str:
    return f"{obj.__module__}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def describe_result(value: Any) -> Any:
    """JSON for a call's result; a module is shown by its type and JSON state, a signature by its fields."""
    if isinstance(value, type) and issubclass(value, dspy.Signature):
        return describe_signature(value)
    if isinstance(value, dspy.Module):
        return {"type": qualified_name(type(value)), "state": to_jsonable(value.dump_state(json_mode=True))}
    return to_jsonable(value)
