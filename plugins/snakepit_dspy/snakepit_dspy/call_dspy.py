"""``call_dspy``: an allow-listed DSPy class constructed or function called, or a stored instance's method called.

Two forms (names are looked up in :mod:`snakepit_dspy.allow_list`, exactly):

* the seed's, which DSPex sends: ``module_path`` + ``function_name`` +
  ``args`` + ``kwargs``. ``function_name "__init__"`` constructs the class
  ``module_path`` and stores the instance in the session
  (:mod:`snakepit_dspy.instances`), answering ``instance_id`` and
  ``type: "constructor"``; ``module_path "stored.<id>"`` calls a method of
  that instance (``__call__`` runs a module with the session's LM) and
  answers ``result`` and ``type: "method"``; any other pair names a
  function, ``<module_path>.<function_name>``, answered with
  ``type: "function"``. Failures are answered as ``success: false``.
* the richer one: ``target`` constructed or called, ``call_kwargs`` to call
  the new instance, ``store_as`` to keep the result in a variable.

Private names (``_x``, dunders other than ``__init__`` and ``__call__``) are
refused. Signature strings among the arguments are held to the same type
names as every other signature (DSPy would import an unknown name), and no
argument may set an LM endpoint or key (``dspy.Predict(..., config={"api_base":
...})`` would send the session's key there). Results are JSON: a
prediction's fields, a module's type and state, a signature's fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_dspy.allow_list import allow_list, refusal
from snakepit_dspy.catalog import INSTANCE_METHODS
from snakepit_dspy.commands import call_lm, with_stored
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.instances import StoredInstance, session_instances, stored_id
from snakepit_dspy.lmconfig import active_config
from snakepit_dspy.module_runner import call_with_lm, to_jsonable
from snakepit_dspy.replies import answered, succeeded
from snakepit_dspy.signatures import check_type_names, describe_signature
from snakepit_host import InvalidArgument, PermissionDenied, SnakepitError

if TYPE_CHECKING:
    from snakepit_host import SessionContext

PUBLIC_DUNDERS = ("__init__", "__call__")
ENDPOINT_KEYS = frozenset({"api_base", "base_url", "api_key", "api_version", "azure_ad_token", "custom_llm_provider"})
"""Keyword names that would point a call's LM at another address or key; configure_lm owns those."""


def call_dspy(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    if "module_path" in params:
        return answered(seed_call, ctx, params)
    return succeeded(target_call(ctx, params))


# ---------------------------------------------------------------- the seed's (DSPex's) form


def seed_call(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    module_path, function_name = params["module_path"].strip(), params["function_name"].strip()
    args, kwargs = params.get("args") or [], params.get("kwargs") or {}
    check_function_name(function_name)
    check_arguments(module_path, [args, kwargs])
    instance_id = stored_id(module_path)
    if instance_id is not None:
        return call_stored(ctx, session_instances(ctx).get(instance_id), function_name, args, kwargs)
    if function_name == "__init__":
        return construct(ctx, module_path, args, kwargs)
    name = module_path if function_name == "__call__" else f"{module_path}.{function_name}"
    entry = allow_list(ctx.host).resolve(name)
    if entry.is_class:
        raise InvalidArgument(
            f"call_dspy: {entry.name} is a class: construct it with module_path '{entry.name}' and function_name "
            "'__init__', then call the instance as module_path 'stored.<instance_id>'"
        )
    value = invoke(optional_lm(ctx), entry.obj, args, kwargs, f"calling {entry.name}")
    return {"result": describe_result(value), "type": "function", "function": entry.name}


def check_function_name(function_name: str) -> None:
    if function_name in PUBLIC_DUNDERS:
        return
    if function_name.startswith("_"):
        raise PermissionDenied(
            f"call_dspy: function_name {function_name[:60]!r} is private; "
            "only public names and '__init__' / '__call__' are called"
        )
    if not function_name.isidentifier():
        raise InvalidArgument(f"call_dspy: function_name {function_name[:60]!r} is not a name")


def construct(ctx: SessionContext, module_path: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    entry = allow_list(ctx.host).resolve(module_path)
    if not entry.is_class:
        module, _, function = entry.name.rpartition(".")
        raise InvalidArgument(
            f"call_dspy: {entry.name} is a function, not a class: call it with module_path '{module}' "
            f"and function_name '{function}'"
        )
    value = invoke(optional_lm(ctx), entry.obj, args, kwargs, f"constructing {entry.name}")
    stored = session_instances(ctx).add(value, entry.obj.__name__, entry.kind)
    return {
        "instance_id": stored.instance_id,
        "type": "constructor",
        "class_name": stored.class_name,
        "module_path": entry.name,
    }


def call_stored(
    ctx: SessionContext, stored: StoredInstance, function_name: str, args: list[Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    methods = INSTANCE_METHODS[stored.kind]
    if function_name not in methods:
        allowed = f"it answers {', '.join(methods)}" if methods else "it is only kept, listed and deleted"
        raise PermissionDenied(
            f"call_dspy: {function_name!r} is not called on a stored {stored.class_name} ({allowed})"
        )
    runs_lm = stored.kind == "module" and function_name != "dump_state"
    lm = call_lm(ctx) if runs_lm else None
    target = stored.value if function_name == "__call__" else getattr(stored.value, function_name)
    value = invoke(lm, target, args, kwargs, f"{stored.class_name}.{function_name}")
    return {
        "result": describe_result(value),
        "type": "method",
        "instance_id": stored.instance_id,
        "function_name": function_name,
    }


# ---------------------------------------------------------------- the richer form


def target_call(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    entry = allow_list(ctx.host).resolve(params["target"])
    args, kwargs = params.get("args") or [], params.get("kwargs") or {}
    call_kwargs = params.get("call_kwargs")
    check_arguments(params["target"], [args, kwargs, call_kwargs])
    if call_kwargs is not None and "__call__" not in entry.methods:
        raise InvalidArgument(f"call_dspy: call_kwargs calls the new instance, and {entry.name} is not a module class")
    # An LM is required only to call a constructed module; constructors and functions get one if configured.
    lm = call_lm(ctx) if call_kwargs is not None else optional_lm(ctx)

    def run() -> Any:
        value = entry.obj(*args, **kwargs)
        return value(**call_kwargs) if call_kwargs is not None else value

    value = invoke(lm, run, [], {}, f"calling {entry.name}")
    result = {"target": qualified_name(entry.obj), "result": describe_result(value)}
    return with_stored(ctx, params, result, {"result": result["result"]})


# ---------------------------------------------------------------- shared


def optional_lm(ctx: SessionContext) -> Any:
    """The call's LM if one is configured (a constructor or function may read it), else None."""
    return call_lm(ctx) if active_config(ctx) is not None else None


def invoke(lm: Any, function: Any, args: list[Any], kwargs: dict[str, Any], what: str) -> Any:
    """``function(*args, **kwargs)`` with ``lm``; a failure says what was being done.

    What DSPy raises of its own (a ``TypeError`` for an unknown keyword, a
    ``ValueError`` for a signature it cannot parse) comes from the arguments
    the caller chose: INVALID_ARGUMENT. LM failures keep their own status.
    """
    try:
        return call_with_lm(lm, function, *args, **kwargs)
    except SnakepitError as exc:
        kind = InvalidArgument if type(exc) is SnakepitError else type(exc)
        raise kind(f"call_dspy: {what} failed: {exc}") from None


def check_arguments(target: str, value: Any) -> None:
    """PermissionDenied for arguments that would import or evaluate a name, or redirect the LM.

    A string DSPy would parse as a signature (one with '->') may only name
    allowed types; a mapping may not set an LM endpoint or key.
    """
    if isinstance(value, str):
        if "->" in value:
            try:
                check_type_names(value)
            except ValueError as exc:
                raise refusal(target, f"argument {value[:80]!r} names a type that is not allowed ({exc})") from None
    elif isinstance(value, dict):
        redirecting = sorted(ENDPOINT_KEYS.intersection(value))
        if redirecting:
            raise refusal(target, f"argument key(s) {', '.join(redirecting)} would redirect the LM; use configure_lm")
        for item in value.values():
            check_arguments(target, item)
    elif isinstance(value, list):
        for item in value:
            check_arguments(target, item)


def qualified_name(obj: Any) -> str:
    return f"{obj.__module__}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def describe_result(value: Any) -> Any:
    """JSON for a call's result; a module is shown by its type and JSON state, a signature by its fields."""
    if isinstance(value, type) and issubclass(value, dspy.Signature):
        return describe_signature(value)
    if isinstance(value, dspy.Module):
        return {"type": qualified_name(type(value)), "state": to_jsonable(value.dump_state(json_mode=True))}
    return to_jsonable(value)
