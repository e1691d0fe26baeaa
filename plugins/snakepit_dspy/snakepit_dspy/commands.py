"""The DSPy command handlers (``handler(ctx, params)``), loaded on the first DSPy command.

Each handler reads its parameters, delegates to the module that does the
work, and shapes the answer. The host has checked the parameters against
the schemas in :mod:`snakepit_dspy.catalog` before a handler runs, so the
handlers read them plainly and check only what needs the session or DSPy.
A command with two forms tells them apart by the parameters only one form
has, and answers each as its callers read it (:mod:`snakepit_dspy.replies`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakepit_dspy.agents import session_tools
from snakepit_dspy.allow_list import allow_list
from snakepit_dspy.bindings import bind_setting, bound_settings, module_type_from, read_variable, store_result
from snakepit_dspy.catalog import DSPEX_PROGRAM_TYPES
from snakepit_dspy.discovery import discover, dspex_schema, module_listing
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.lmconfig import configure, lm_for_call, lm_summary
from snakepit_dspy.module_runner import call_with_lm, outputs_of, to_jsonable
from snakepit_dspy.optimize import optimize
from snakepit_dspy.programs import Program, Programs, fresh_program_id, new_program, restore
from snakepit_dspy.replies import answered, succeeded, succeeds
from snakepit_dspy.session_state import dspy_host, session_state
from snakepit_dspy.signatures import describe_signature, known_inputs, parse_signature, select_inputs
from snakepit_host import InvalidArgument, PermissionDenied

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
    """Inputs from ``inputs`` or from the parameters that are not the command's own; no other names."""
    rest = {k: v for k, v in params.items() if k not in reserved}
    return select_inputs(signature, rest, params.get("inputs"))


def seed_inputs(
    params: dict[str, Any], signature: type[dspy.Signature], reserved: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """Seed/DSPex form: inputs from ``inputs`` or the other parameters; names the signature lacks are ignored."""
    rest = {k: v for k, v in params.items() if k not in reserved}
    if "inputs" in params and rest:
        raise InvalidArgument(
            f"give the inputs either in 'inputs' or as parameters, not both (extra parameters: {sorted(rest)})"
        )
    return known_inputs(signature, params.get("inputs", rest))


def answer(
    ctx: SessionContext,
    params: dict[str, Any],
    prediction: Any,
    signature: type[dspy.Signature],
    lm: Any,
    **extra: Any,
) -> dict[str, Any]:
    """A prediction's fields, outputs (and reasoning), the LM used, and ``extra``; stored into ``store_as`` if given.

    ``result`` (what DSPex reads, and the stored value) holds the prediction's
    fields: ``reasoning`` when there is one, then the outputs.
    """
    outputs = outputs_of(prediction, signature)
    result: dict[str, Any] = {**extra, "outputs": outputs}
    fields = dict(outputs)
    if prediction.get("reasoning") is not None:
        result["reasoning"] = to_jsonable(prediction.reasoning)
        fields = {"reasoning": result["reasoning"], **outputs}
    result["result"] = fields
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
    if "model_type" in params:
        return answered(_configure_lm, ctx, params)
    return succeeded(_configure_lm(ctx, params))


def _configure_lm(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("default", False):
        config = configure(params, "session", ctx.host)
        session_state(ctx).lm = config
    elif ctx.host.option("dspy_callers_set_default"):
        config = configure(params, "default", ctx.host)
        state = dspy_host(ctx.host)
        with state.lock:
            state.default_lm = config
    else:
        raise PermissionDenied(
            "configure_lm: default=true would change the LM of every session on this worker; the host-wide "
            "default is the operator's (--dspy-default-lm / SNAKEPIT_DSPY_DEFAULT_LM), and callers may set it "
            "only on a worker started with --dspy-callers-set-default; configure this session's LM without default"
        )
    described = {"configured": True, **config.describe()}
    if "model_type" in params:
        described["model_type"] = params["model_type"]
    return described


@succeeds
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


def _predict(
    ctx: SessionContext, params: dict[str, Any], module: Callable[..., dspy.Module], kind: str
) -> dict[str, Any]:
    """Seed/DSPex form (inputs as parameters): other names ignored and listed, failures in the result.

    Richer form (``inputs`` or ``store_as`` given): every input named by the
    signature and nothing else, failures fail the call.
    """
    seed = "inputs" not in params and "store_as" not in params

    def run(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
        signature = parse_signature(params["signature"])
        extra: dict[str, Any] = {"type": kind}
        if seed:
            inputs, extra["ignored_inputs"] = seed_inputs(params, signature, PREDICTION_PARAMETERS)
        else:
            inputs = call_inputs(params, signature, PREDICTION_PARAMETERS)
        lm = call_lm(ctx)
        return answer(ctx, params, call_with_lm(lm, module(signature), **inputs), signature, lm, **extra)

    return answered(run, ctx, params) if seed else succeeded(run(ctx, params))


def enhanced_predict(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.Predict, "enhanced_predict")


def enhanced_chain_of_thought(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _predict(ctx, params, dspy.ChainOfThought, "enhanced_chain_of_thought")


@succeeds
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


# ---------------------------------------------------------------- introspection


def discover_dspy_schema(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Richer forms: ``signature`` or ``module``. Seed/DSPex form (``module_path``, or nothing): DSPex's keys too."""
    if "signature" in params:
        return succeeded(describe_signature(parse_signature(params["signature"])))
    if "module" in params:
        return succeeded(discover(params["module"]))

    def both(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
        module_path = params.get("module_path", "dspy")
        return {**discover(module_path), **dspex_schema(module_path, frozenset(allow_list(ctx.host).names()))}

    return answered(both, ctx, params)


@succeeds
def list_dspy_modules(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return {**module_listing(), "call_dspy": allow_list(ctx.host).names()}


# ---------------------------------------------------------------- programs


def _programs(ctx: SessionContext) -> Programs:
    return Programs(session_state(ctx))


def create_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    if "name" in params:
        return answered(_create_named, ctx, params)
    program_id = params.get("program_id") or params.get("id") or fresh_program_id()
    program = new_program(program_id, params["signature"], params.get("module_type", "Predict"))
    _programs(ctx).add(program, replace=params.get("replace", False))
    return succeeded({"created": True, **program.info()})


def _create_named(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """DSPex's form: ``name``, ``program_type``, ``signature_name``; a program of that name is replaced."""
    program_type = params["program_type"]
    module_type = DSPEX_PROGRAM_TYPES.get(program_type.strip().lower())
    if module_type is None:
        raise InvalidArgument(
            f"create_program: unknown program_type {program_type[:60]!r}; served: {', '.join(DSPEX_PROGRAM_TYPES)} "
            "(for ReAct over the session's tools use the react command; program_of_thought runs code the LM "
            "writes and is not served)"
        )
    program = new_program(params["name"], params["signature_name"], module_type)
    _programs(ctx).add(program, replace=params.get("replace", True))
    return {"created": True, "name": program.program_id, "type": program_type, **program.info()}


def execute_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    if "program_id" not in params:  # with program_id, 'name' is an input like any other
        return answered(_execute_named, ctx, params)
    program = _programs(ctx).get(params["program_id"])
    return succeeded(_execute(ctx, params, program, call_inputs(params, program.signature, EXECUTE_PARAMETERS)))


def _execute_named(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    """DSPex's form: ``name`` and ``inputs``; inputs the signature lacks are ignored and listed."""
    program = _programs(ctx).get(params["name"])
    inputs, ignored = seed_inputs(params, program.signature, ("name", *EXECUTE_PARAMETERS))
    return {**_execute(ctx, params, program, inputs), "name": program.program_id, "ignored_inputs": ignored}


def _execute(ctx: SessionContext, params: dict[str, Any], program: Program, inputs: dict[str, Any]) -> dict[str, Any]:
    with program.lock:
        if program.module_type_variable is not None:
            program.switch_module_type(module_type_from(ctx, program.module_type_variable))
        module, module_type = program.module, program.module_type
    lm = call_lm(ctx)
    prediction = call_with_lm(lm, module, **inputs)
    with program.lock:
        program.execution_count += 1
        program.last_executed = time.time()
    return answer(
        ctx, params, prediction, program.signature, lm, program_id=program.program_id, module_type=module_type
    )


@succeeds
def list_programs(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    programs = [program.info() for program in _programs(ctx).all()]
    return {"programs": programs, "count": len(programs)}


@succeeds
def get_program_info(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    return _programs(ctx).get(params["program_id"]).info(include_state=params.get("include_state", False))


@succeeds
def delete_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).delete(params["program_id"])
    return {"deleted": True, "program_id": program.program_id}


@succeeds
def save_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).get(params["program_id"])
    with program.lock:
        saved = program.saved()
    name = params["variable"]
    return {"program_id": program.program_id, "variable": name, "version": store_result(ctx, name, saved)}


@succeeds
def load_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    saved = read_variable(ctx, params["variable"], "load_program") if "variable" in params else params["state"]
    program: Program = restore(saved, params.get("program_id"))
    _programs(ctx).add(program, replace=params.get("replace", False))
    return {"loaded": True, **program.info()}


@succeeds
def optimize_program(ctx: SessionContext, params: dict[str, Any]) -> dict[str, Any]:
    program = _programs(ctx).get(params["program_id"])
    with program.lock:
        summary = optimize(program, lambda: call_lm(ctx), params)
    return {"program_id": program.program_id, **summary}
