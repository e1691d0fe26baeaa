"""The DSPy command handlers (``handler(ctx, params)``), loaded on the first DSPy command.

Each handler reads its parameters, delegates to the module that does the
work, and shapes the answer; schemas and descriptions are in
:mod:`snakepit_dspy.catalog`.
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
from snakepit_dspy.params import Params
from snakepit_dspy.programs import Program, Programs, fresh_program_id, new_program, restore
from snakepit_dspy.session_state import active_lm, session_state, set_default_lm
from snakepit_dspy.signatures import describe_signature, parse_signature, select_inputs

if TYPE_CHECKING:
    from snakepit_host import SessionContext

PREDICTION_PARAMETERS = ("signature", "inputs", "store_as")
REACT_PARAMETERS = (*PREDICTION_PARAMETERS, "tools", "max_iters")
EXECUTE_PARAMETERS = ("program_id", "inputs", "store_as", "program_data")
"""``program_data`` is what Snakepit 0.4.1's SessionHelpers injects into execute_program; it is not needed here."""


def call_lm(ctx: SessionContext) -> Any:
    """The LM for this call: the session's (or default) LM with the bound settings read now."""
    return lm_for_call(ctx, bound_settings(ctx))


def call_inputs(params: Params, signature: type[dspy.Signature], reserved: tuple[str, ...]) -> dict[str, Any]:
    """Inputs from ``inputs`` or from the parameters that are not the command's own (seed form)."""
    rest = {k: v for k, v in params.values.items() if k not in reserved}
    return select_inputs(signature, rest, params.mapping("inputs", None))


def signature_of(params: Params, default: str | None = None) -> type[dspy.Signature]:
    spec = params.values.get("signature", default)
    if spec is None:
        raise params.error("missing required parameter 'signature' (e.g. 'question -> answer')")
    return parse_signature(spec)


def answer(
    ctx: SessionContext, params: Params, prediction: Any, signature: type[dspy.Signature], lm: Any, **extra: Any
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


def with_stored(ctx: SessionContext, params: Params, result: dict[str, Any], value: Any) -> dict[str, Any]:
    """``result``, after writing ``value`` into the ``store_as`` variable if the call names one."""
    name = params.text("store_as", None)
    if name is not None:
        result["stored"] = {"variable": name, "version": store_result(ctx, name, value)}
    return result


# ---------------------------------------------------------------- LM


def configure_lm(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("configure_lm", params)
    scope = "default" if p.flag("default") else "session"
    config = configure(p, scope, allowed_api_bases(ctx.host))
    if scope == "default":
        set_default_lm(ctx.host, config, dspy.__version__)
    else:
        session_state(ctx).lm = config
    return {"configured": True, **config.describe()}


def bind_dspy_variable(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("bind_dspy_variable", params)
    p.reject_unknown(("setting", "variable", "program_id"))
    setting = p.text("setting")
    if "variable" not in p.values:
        raise p.error("missing 'variable' (a session variable name, or null to unbind)")
    variable = p.values["variable"]
    if variable is not None:
        variable = p.text("variable")
    if setting != "module_type":
        if p.has("program_id"):
            raise p.error("LM settings are bound for the whole session; program_id is only for setting 'module_type'")
        return bind_setting(ctx, setting, variable)
    program = Programs(session_state(ctx)).get(p.text("program_id"))
    with program.lock:
        if variable is not None:
            program.switch_module_type(module_type_from(ctx, variable))
        program.module_type_variable = variable
    return {"setting": "module_type", "program_id": program.program_id, "variable": variable, **program.info()}


# ---------------------------------------------------------------- one-off predictions


def _predict(ctx: SessionContext, params: dict[str, Any], module: Callable[..., dspy.Module]) -> dict[str, Any]:
    p = Params(ctx.tool_name, params)
    signature = signature_of(p)
    inputs = call_inputs(p, signature, PREDICTION_PARAMETERS)
    lm = call_lm(ctx)
    return answer(ctx, p, call_with_lm(lm, module(signature), **inputs), signature, lm)


def enhanced_predict(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.Predict)


def enhanced_chain_of_thought(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.ChainOfThought)


def react(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("react", params)
    signature = signature_of(p, "question -> answer")
    inputs = call_inputs(p, signature, REACT_PARAMETERS)
    names = p.sequence("tools", None)
    tools, failures = session_tools(ctx, names)
    agent = dspy.ReAct(signature, tools=tools, max_iters=p.integer("max_iters", 5, minimum=1, maximum=50))
    lm = call_lm(ctx)
    prediction = call_with_lm(lm, agent, **inputs)
    return answer(
        ctx, p, prediction, signature, lm, trajectory=to_jsonable(prediction.trajectory), tool_errors=failures
    )


# ---------------------------------------------------------------- introspection and direct calls


def call_dspy(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("call_dspy", params)
    p.reject_unknown(("target", "args", "kwargs", "call_kwargs", "store_as"))
    target = dspy_names.resolve(p.text("target"))
    args, kwargs = p.sequence("args", []), p.mapping("kwargs", {})
    call_kwargs = p.mapping("call_kwargs", None)
    dspy_names.check_arguments(p.text("target"), [args, kwargs, call_kwargs])
    if call_kwargs is not None and not isinstance(target, type):
        raise p.error("call_kwargs is only for a class target (construct, then call the instance)")
    # An LM is required only to call a constructed module; plain functions get one if configured.
    lm = call_lm(ctx) if call_kwargs is not None or active_lm(ctx) is not None else None

    def run() -> Any:
        value = target(*args, **kwargs)
        return value(**call_kwargs) if call_kwargs is not None else value

    value = call_with_lm(lm, run)
    result = {"target": dspy_names.qualified_name(target), "result": dspy_names.describe_result(value)}
    return with_stored(ctx, p, result, {"result": result["result"]})


def discover_dspy_schema(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("discover_dspy_schema", params)
    p.reject_unknown(("module", "signature"))
    if p.has("signature"):
        if p.has("module"):
            raise p.error("give 'module' or 'signature', not both")
        return describe_signature(parse_signature(p.values["signature"]))
    return discover(p.text("module", "dspy"))


def list_dspy_modules(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    Params("list_dspy_modules", params).reject_unknown(())
    return module_listing()


# ---------------------------------------------------------------- programs


def _programs(ctx: SessionContext) -> Programs:
    return Programs(session_state(ctx))


def create_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("create_program", params)
    p.reject_unknown(("program_id", "id", "signature", "module_type", "replace"))
    if p.has("program_id") and p.has("id"):
        raise p.error("give program_id or id, not both")
    program_id = p.text("program_id", None) or p.text("id", None) or fresh_program_id()
    if not p.has("signature"):
        raise p.error("missing required parameter 'signature'")
    program = new_program(program_id, p.values["signature"], p.values.get("module_type", "Predict"))
    _programs(ctx).add(program, replace=p.flag("replace"))
    return {"created": True, **program.info()}


def execute_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("execute_program", params)
    program = _programs(ctx).get(p.text("program_id"))
    with program.lock:
        if program.module_type_variable is not None:
            program.switch_module_type(module_type_from(ctx, program.module_type_variable))
        module, module_type = program.module, program.module_type
    inputs = call_inputs(p, program.signature, EXECUTE_PARAMETERS)
    lm = call_lm(ctx)
    prediction = call_with_lm(lm, module, **inputs)
    with program.lock:
        program.execution_count += 1
        program.last_executed = time.time()
    return answer(ctx, p, prediction, program.signature, lm, program_id=program.program_id, module_type=module_type)


def list_programs(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    Params("list_programs", params).reject_unknown(())
    programs = [program.info() for program in _programs(ctx).all()]
    return {"programs": programs, "count": len(programs)}


def get_program_info(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("get_program_info", params)
    p.reject_unknown(("program_id", "include_state"))
    return _programs(ctx).get(p.text("program_id")).info(include_state=p.flag("include_state"))


def delete_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("delete_program", params)
    p.reject_unknown(("program_id",))
    program = _programs(ctx).delete(p.text("program_id"))
    return {"deleted": True, "program_id": program.program_id}


def save_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("save_program", params)
    p.reject_unknown(("program_id", "variable"))
    program = _programs(ctx).get(p.text("program_id"))
    with program.lock:
        saved = program.saved()
    name = p.text("variable")
    return {"program_id": program.program_id, "variable": name, "version": store_result(ctx, name, saved)}


def load_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("load_program", params)
    p.reject_unknown(("variable", "state", "program_id", "replace"))
    if p.has("variable") == p.has("state"):
        raise p.error("give exactly one of 'variable' (a session variable written by save_program) or 'state'")
    saved = read_variable(ctx, p.text("variable"), "load_program") if p.has("variable") else p.mapping("state")
    program: Program = restore(saved, p.text("program_id", None))
    _programs(ctx).add(program, replace=p.flag("replace"))
    return {"loaded": True, **program.info()}


def optimize_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    p = Params("optimize_program", params)
    p.reject_unknown(
        (
            "program_id",
            "optimizer",
            "trainset",
            "metric",
            "metric_field",
            "k",
            "max_bootstrapped_demos",
            "max_labeled_demos",
            "max_rounds",
        )
    )
    program = _programs(ctx).get(p.text("program_id"))
    with program.lock:
        summary = optimize(program, lambda: call_lm(ctx), p)
    return {"program_id": program.program_id, **summary}
