"""Session variables as DSPy settings, and results stored into variables (``store_as``).

A binding names a session variable; its value is read at every call, so a
change made from Elixir (or by another command) takes effect on the next
call without ``configure_lm``. Only :attr:`ctx.variables` (snakepit-variables'
public face) is used, and only when something is bound or stored, so a
session that binds nothing never touches the variables plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakepit_dspy.catalog import PROGRAM_MODULE_TYPES
from snakepit_dspy.lmconfig import check_setting
from snakepit_dspy.session_state import session_state
from snakepit_host import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from snakepit_variables import Variables

    from snakepit_host import SessionContext

RESULT_VARIABLE_TYPE = "dict"
"""snakepit-variables type used when ``store_as`` or ``save_program`` creates a variable (a JSON object)."""

_ABSENT: Any = object()


def variables_of(ctx: SessionContext) -> Variables:
    try:
        variables: Variables = ctx.variables
        return variables
    except AttributeError as exc:
        raise FailedPrecondition(f"variable binding needs snakepit-variables: {exc}") from None


def read_variable(ctx: SessionContext, name: str, needed_by: str) -> Any:
    """The variable's current value; a missing variable is a FailedPrecondition naming who needs it."""
    value = variables_of(ctx).get(name, _ABSENT)
    if value is _ABSENT:
        raise FailedPrecondition(f"session variable '{name}' (needed by {needed_by}) does not exist")
    return value


def bound_settings(ctx: SessionContext) -> dict[str, Any]:
    """Current values of the session's bound LM settings, checked like configure_lm's."""
    bindings = dict(session_state(ctx).setting_bindings)
    return {
        setting: check_setting(setting, read_variable(ctx, variable, _bound(setting)), f"session variable '{variable}'")
        for setting, variable in bindings.items()
    }


def _bound(what: str) -> str:
    return f"the binding of {what}; register the variable or unbind with bind_dspy_variable(variable=null)"


def module_type_from(ctx: SessionContext, variable: str) -> str:
    value = read_variable(ctx, variable, _bound("a program's module_type"))
    return check_module_type(value, f"session variable '{variable}'")


def check_module_type(value: object, where: str) -> str:
    """A program module type; a 'module' variable may hold it as 'dspy.ChainOfThought'."""
    if isinstance(value, str) and value.startswith("dspy."):
        value = value[len("dspy.") :]
    if value not in PROGRAM_MODULE_TYPES:
        raise InvalidArgument(
            f"{where}: module type must be one of {', '.join(PROGRAM_MODULE_TYPES)}, got {value!r:.60}"
        )
    return str(value)


def bind_setting(ctx: SessionContext, setting: str, variable: str | None) -> dict[str, Any]:
    """Bind (or, with ``variable=None``, unbind) an LM setting; the variable must exist and hold a valid value.

    ``setting`` is one of :data:`~snakepit_dspy.catalog.BINDABLE_SETTINGS` (bind_dspy_variable's schema says so).
    """
    state = session_state(ctx)
    if variable is None:
        removed = state.setting_bindings.pop(setting, None)
        return {"setting": setting, "unbound": removed}
    value = check_setting(setting, read_variable(ctx, variable, f"binding {setting}"), f"session variable '{variable}'")
    state.setting_bindings[setting] = variable
    return {"setting": setting, "variable": variable, "value": value}


def store_result(ctx: SessionContext, name: str, value: dict[str, Any]) -> int:
    """Write ``value`` to the session variable ``name`` (created if missing); returns its new version."""
    variables = variables_of(ctx)
    if variables.exists(name):
        return int(variables.set(name, value))
    variable = variables.register(name, RESULT_VARIABLE_TYPE, value, description="stored by snakepit-dspy")
    return int(variable.version)
