"""The DSPy command handlers (``handler(ctx, params)``), loaded on the first DSPy command.

Each handler reads its parameters, delegates to the module that does the
work, and shapes the answer. The host has checked the parameters against
the schemas in :mod:`snakepit_dspy.catalog` before a handler runs, so the
handlers read them plainly and check only what needs the session or DSPy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakepit_dspy import call_dspy as dspy_names
from snakepit_dspy.agents import session_tools
from snakepit_dspy.bindings import bind_setting, bound_settings, module_type_from, read_variable, store_result
from snakepit_dspy.discovery import discover, module_listing
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.lmconfig import allowed_api_bases, configure, lm_for_call, lm_summary
from snakepit_dspy.module_runner import call_with_lm, outputs_of, to_jsonable
from snakepit_dspy.optimize import optimize
from snakepit_dspy.programs import Program, Programs, fresh_program_id, new_program, restore
from snakepit_dspy.session_state import active_lm, session_state, set_default_lm
from snakepit_dspy.signatures import describe_signature, parse_signature, select_inputs
from snakepit_host import InvalidArgument

if TYPE_CHECKING:
    from snakepit_host import SessionContext

PREDICTION_PARAMETERS = ("signature", "inputs", "store_as")
REACT_PARAMETERS = (*PREDICTION_PARAMETERS, "tools", "max_iters")
EXECUTE_PARAMETERS = ("program_id", "inputs", "store_as", "program_data")
"""``program_data`` is what Snakepit 0.4.1's SessionHelpers injects into execute_program; it is not needed here."""
DEFAULT_SIGNATURE = "question -> answer"
"""The signature of ``react`` and ``stream_chain_of_thought`` when the call gives none."""


def call_lm(ctx: SessionContext) -> Any:
    """The LM for this call: the session's (or default) LM with the bound settings read now."""
    return lm_for_call(ctx, bound_settings(ctx))


def call_inputs(params: dict[str, Any], signature: type[dspy.Signature], reserved: tuple[str, ...]) -> dict[str, Any]:
    """Inputs from ``inputs`` or from the parameters that are not the command's own (seed form)."""
    rest = {k: v for k, v in params.items() if k not in reserved}
    return select_inputs(signature, rest, params.get("inputs"))


def answer(
    ctx: SessionContext,
    params: dict[str, Any],
    prediction: Any,
    signature: type[dspy.Signature],
    lm: Any,
    **extra: Any,
) -> dict[str, Any]:
    """A prediction's outputs (and reasoning), the LM used, and ``extra``; stored into ``store_as`` if given.

    The stored value holds the prediction's fields: the outputs, plus ``reasoning`` when there is one.
    """
    result: dict[str, Any] = {**extra, "outputs": outputs_of(prediction, signature)}
    fields = dict(result["outputs"])
    if prediction.get("reasoning") is not None:
        result["reasoning"] = fields["reasoning"] = to_jsonable(prediction.reasoning)
    result["lm"] = lm_summary(lm)
    return with_stored(ctx, params, result, fields)


def with_stored(ctx: SessionContext, params: dict[str, Any], result: dict[str, Any], value: Any) -> dict[str, Any]:
    """``result``, after writing ``value`` into the ``store_as`` variable if the call names one."""
    name = params.get("store_as")
    if name is not None:
        result["stored"] = {"variable": name, "version": store_result(ctx, name, value)}
    return result


# ---------------------------------------------------------------- LM


def configure_lm(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    scope = "default" if params.get("default", False) else "session"
    config = configure(params, scope, allowed_api_bases(ctx.host))
    if scope == "default":
        set_default_lm(ctx.host, config, dspy.__version__)
    else:
        session_state(ctx).lm = config
    return {"configured": True, **config.describe()}


def bind_dspy_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    setting, variable, program_id = params["setting"], params["variable"], params.get("program_id")
    if setting != "module_type":
        if program_id is not None:
            raise InvalidArgument(
                "bind_dspy_variable: LM settings are bound for the whole session; "
                "program_id is only for setting 'module_type'"
            )
        return bind_setting(ctx, setting, variable)
    if program_id is None:
        raise InvalidArgument("bind_dspy_variable: setting 'module_type' needs the 'program_id' of the program")
    program = Programs(session_state(ctx)).get(program_id)
    with program.lock:
        if variable is not None:
            program.switch_module_type(module_type_from(ctx, variable))
        program.module_type_variable = variable
    return {"setting": "module_type", "program_id": program.program_id, "variable": variable, **program.info()}


# ---------------------------------------------------------------- one-off predictions


def _predict(ctx: SessionContext, params: dict[str, Any], module: Callable[..., dspy.Module]) -> dict[str, Any]:
    signature = parse_signature(params["signature"])
    inputs = call_inputs(params, signature, PREDICTION_PARAMETERS)
    lm = call_lm(ctx)
    return answer(ctx, params, call_with_lm(lm, module(signature), **inputs), signature, lm)


def enhanced_predict(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.Predict)


def enhanced_chain_of_thought(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.ChainOfThought)


def react(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    signature = parse_signature(params.get("signature", DEFAULT_SIGNATURE))
    inputs = call_inputs(params, signature, REACT_PARAMETERS)
    tools, failures = session_tools(ctx, params.get("tools"))
    agent = dspy.ReAct(signature, tools=tools, max_iters=params.get("max_iters", 5))
    lm = call_lm(ctx)
    prediction = call_with_lm(lm, agent, **inputs)
    return answer(
        ctx, params, prediction, signature, lm, trajectory=to_jsonable(prediction.trajectory), tool_errors=failures
    )


# ---------------------------------------------------------------- introspection and direct calls


def call_dspy(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    target = dspy_names.resolve(params["target"])
    args, kwargs = params.get("args", []), params.get("kwargs", {})
    call_kwargs = params.get("call_kwargs")
    dspy_names.check_arguments(params["target"], [args, kwargs, call_kwargs])
    if call_kwargs is not None and not isinstance(target, type):
        raise InvalidArgument("call_dspy: call_kwargs is only for a class target (construct, then call the instance)")
    # An LM is required only to call a constructed module; plain functions get one if configured.
    lm = call_lm(ctx) if call_kwargs is not None or active_lm(ctx) is not None else None

    def run() -> Any:
        value = target(*args, **kwargs)
        return value(**call_kwargs) if call_kwargs is not None else value

    value = call_with_lm(lm, run)
    result = {"target": dspy_names.qualified_name(target), "result": dspy_names.describe_result(value)}
    return with_stored(ctx, params, result, {"result": result["result"]})


def discover_dspy_schema(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    if "signature" in params:
        return describe_signature(parse_signature(params["signature"]))
    return discover(params.get("module", "dspy"))


def list_dspy_modules(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return module_listing()


# ---------------------------------------------------------------- programs


def _programs(ctx: SessionContext) -> Programs:
    return Programs(session_state(ctx))


def create_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program_id = params.get("program_id") or params.get("id") or fresh_program_id()
    program = new_program(program_id, params["signature"], params.get("module_type", "Predict"))
    _programs(ctx).add(program, replace=params.get("replace", False))
    return {"created": True, **program.info()}


def execute_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).get(params["program_id"])
    with program.lock:
        if program.module_type_variable is not None:
            program.switch_module_type(module_type_from(ctx, program.module_type_variable))
        module, module_type = program.module, program.module_type
    inputs = call_inputs(params, program.signature, EXECUTE_PARAMETERS)
    lm = call_lm(ctx)
    prediction = call_with_lm(lm, module, **inputs)
    with program.lock:
        program.execution_count += 1
        program.last_executed = time.time()
    return answer(
        ctx, params, prediction, program.signature, lm, program_id=program.program_id, module_type=module_type
    )


def list_programs(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    programs = [program.info() for program in _programs(ctx).all()]
    return {"programs": programs, "count": len(programs)}


def get_program_info(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _programs(ctx).get(params["program_id"]).info(include_state=params.get("include_state", False))


def delete_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).delete(params["program_id"])
    return {"deleted": True, "program_id": program.program_id}


def save_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).get(params["program_id"])
    with program.lock:
        saved = program.saved()
    name = params["variable"]
    return {"program_id": program.program_id, "variable": name, "version": store_result(ctx, name, saved)}


def load_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    saved = read_variable(ctx, params["variable"], "load_program") if "variable" in params else params["state"]
    program: Program = restore(saved, params.get("program_id"))
    _programs(ctx).add(program, replace=params.get("replace", False))
    return {"loaded": True, **program.info()}


def optimize_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).get(params["program_id"])
    with program.lock:
        summary = optimize(program, lambda: call_lm(ctx), params)
    return {"program_id": program.program_id, **summary}
