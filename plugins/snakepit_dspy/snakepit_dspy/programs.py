"""Named DSPy programs per session, and their JSON form.

A program is a Predict or ChainOfThought module over a signature, kept in
the session until deleted. Its learnt state (demos, instructions) is
DSPy's ``dump_state()`` JSON, so a program can be saved into a session
variable and restored in another session or worker; nothing is pickled,
and restoring holds the JSON to a strict schema at every level
(:mod:`snakepit_dspy.saved_state`): no LM of its own, no key DSPy would set
as an attribute of the predictor.

A program's module type may be bound to a session variable
(``bind_dspy_variable(setting="module_type", program_id=...)``): at each
run the variable is read and the module rebuilt if the type changed,
keeping the demos it had learnt.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snakepit_dspy.bindings import check_module_type
from snakepit_dspy.catalog import PROGRAM_MODULE_ALIASES
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.saved_state import SAVED_FORMAT, check_saved
from snakepit_dspy.session_state import DSPySession
from snakepit_dspy.signatures import describe_signature, parse_signature
from snakepit_host import AlreadyExists, InvalidArgument, NotFound, check_key

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_PROGRAMS_PER_SESSION = 1_000
_MODULE_CLASSES: dict[str, Callable[..., dspy.Module]] = {
    "Predict": dspy.Predict,
    "ChainOfThought": dspy.ChainOfThought,
}


def module_type_name(value: object) -> str:
    if isinstance(value, str):
        value = PROGRAM_MODULE_ALIASES.get(value.lower(), value)
    return check_module_type(value, "module_type")


@dataclass
class Program:
    program_id: str
    signature_spec: Any
    signature: type[dspy.Signature]
    module_type: str
    module: dspy.Module
    created_at: float = field(default_factory=time.time)
    execution_count: int = 0
    last_executed: float | None = None
    optimized_with: dict[str, Any] | None = None
    module_type_variable: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def switch_module_type(self, module_type: str) -> None:
        """Rebuild the module as ``module_type``, carrying over the demos it has learnt."""
        if module_type == self.module_type:
            return
        demos = [demo for predictor in self.module.predictors() for demo in predictor.demos]
        module = _MODULE_CLASSES[module_type](self.signature)
        for predictor in module.predictors():
            predictor.demos = list(demos)
        self.module, self.module_type = module, module_type

    def info(self, *, include_state: bool = False) -> dict[str, Any]:
        info = {
            "program_id": self.program_id,
            "module_type": self.module_type,
            **describe_signature(self.signature),
            "demos": sum(len(p.demos) for p in self.module.predictors()),
            "created_at": self.created_at,
            "execution_count": self.execution_count,
            "last_executed": self.last_executed,
            "optimized_with": self.optimized_with,
            "module_type_variable": self.module_type_variable,
        }
        if include_state:
            info["saved"] = self.saved()
        return info

    def saved(self) -> dict[str, Any]:
        """Everything needed to restore this program, as JSON (see :func:`restore`)."""
        return {
            "format": SAVED_FORMAT,
            "program_id": self.program_id,
            "signature": self.signature_spec,
            "module_type": self.module_type,
            "state": self.module.dump_state(json_mode=True),
            "optimized_with": self.optimized_with,
            "dspy_version": dspy.__version__,
        }


def new_program(program_id: str, signature_spec: Any, module_type: str) -> Program:
    signature = parse_signature(signature_spec)
    module_type = module_type_name(module_type)
    return Program(program_id, signature_spec, signature, module_type, _MODULE_CLASSES[module_type](signature))


def restore(saved: object, program_id: str | None = None) -> Program:
    """A program from :meth:`Program.saved` JSON; refuses anything else with a clear reason."""
    saved = check_saved(saved)
    program = new_program(program_id or saved.get("program_id") or "", saved["signature"], saved["module_type"])
    try:
        program.module.load_state(saved["state"])
    except Exception as exc:  # DSPy validates the state; any failure means it does not fit this program
        raise InvalidArgument(
            f"saved program state does not fit a {program.module_type}: {type(exc).__name__}: {exc}"
        ) from None
    program.optimized_with = saved.get("optimized_with")
    return program


class Programs:
    """The programs of one session (thread-safe through the session's lock)."""

    def __init__(self, state: DSPySession) -> None:
        self._state = state

    def add(self, program: Program, *, replace: bool = False) -> Program:
        check_program_id(program.program_id)
        with self._state.lock:
            table = self._state.programs
            if program.program_id in table and not replace:
                raise AlreadyExists(
                    f"program '{program.program_id}' already exists in this session (pass replace=true)"
                )
            if program.program_id not in table and len(table) >= MAX_PROGRAMS_PER_SESSION:
                raise InvalidArgument(f"a session holds at most {MAX_PROGRAMS_PER_SESSION} programs; delete some")
            table[program.program_id] = program
        return program

    def get(self, program_id: str) -> Program:
        program: Program | None = self._state.programs.get(program_id)
        if program is None:
            known = sorted(self._state.programs)
            listing = ", ".join(known[:20]) if known else "none"
            raise NotFound(f"unknown program '{program_id[:100]}' in this session (programs: {listing})")
        return program

    def delete(self, program_id: str) -> Program:
        with self._state.lock:
            program = self.get(program_id)
            del self._state.programs[program_id]
        return program

    def all(self) -> list[Program]:
        with self._state.lock:
            return sorted(self._state.programs.values(), key=lambda p: p.created_at)


def check_program_id(program_id: object) -> str:
    return check_key("program id", program_id, 200)


def fresh_program_id() -> str:
    return f"program_{uuid.uuid4().hex[:12]}"
