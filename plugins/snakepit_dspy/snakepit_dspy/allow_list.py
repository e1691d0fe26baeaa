"""The names ``call_dspy`` reaches: an allow-list of DSPy's public classes and functions, looked up by exact name.

A name from the wire is a key of a table, nothing more: it is never split
into parts that are imported or walked as attributes, so no alias path
(``dspy.evaluate.evaluate.dspy...``), lazy importer (``dspy.predict.knn.require``)
or module that happens to be reachable from DSPy's is ever met. The table is
:data:`~snakepit_dspy.catalog.CALL_DSPY_NAMES` (each a top-level attribute
of ``dspy``, read by its constant name) plus what the operator lists in
``--dspy-call-allow`` / ``SNAKEPIT_DSPY_CALL_ALLOW`` (comma-separated dotted
names under ``dspy``, such as ``dspy.ProgramOfThought`` or
``dspy.datasets.HotPotQA``; their modules are imported, since the operator
wrote them). Whatever an entry resolves to must be a class or function
defined in DSPy. ``Predict`` and ``dspy.Predict`` name the same entry.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snakepit_dspy.catalog import CALL_DSPY_NAMES, INSTANCE_METHODS, WITHHELD_NAMES
from snakepit_dspy.dspy_import import dspy, dspy_submodule
from snakepit_host import FailedPrecondition, PermissionDenied

if TYPE_CHECKING:
    from snakepit_host import Host

log = logging.getLogger("snakepit_dspy")

STATE_KEY = "dspy.call_allow"
OPTION = "--dspy-call-allow (SNAKEPIT_DSPY_CALL_ALLOW)"
_DOTTED = re.compile(r"^dspy(\.[A-Za-z][A-Za-z0-9_]*)+$")


@dataclass(frozen=True)
class Reachable:
    """An allow-listed class or function."""

    name: str
    obj: Any
    kind: str

    @property
    def is_class(self) -> bool:
        return inspect.isclass(self.obj)

    @property
    def methods(self) -> tuple[str, ...]:
        """What ``call_dspy`` may call on a stored instance of it."""
        return INSTANCE_METHODS[self.kind]


def wire_name(name: str) -> str:
    """``Predict`` and ``dspy.Predict`` are the same entry."""
    name = name.strip()
    return name if name.startswith("dspy.") else f"dspy.{name}"


class AllowList:
    """The default names and the operator's, each resolved on first use."""

    def __init__(self, extra: str) -> None:
        self.defaults = dict(CALL_DSPY_NAMES)
        self.extra: list[str] = []
        self.invalid: dict[str, str] = {}
        for entry in (item.strip() for item in extra.split(",")):
            if not entry:
                continue
            if _DOTTED.match(entry):
                self.extra.append(entry)
            else:
                self.invalid[entry] = "not a dotted name of public identifiers under dspy (e.g. dspy.ProgramOfThought)"
        if self.invalid:
            log.warning("option %s: ignored entries %s", OPTION, self.invalid)
        self._resolved: dict[str, Reachable] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [*self.defaults, *(name for name in self.extra if name not in self.defaults)]

    def status(self) -> dict[str, Any]:
        return {"call_dspy_added": list(self.extra), "call_dspy_invalid": dict(self.invalid)}

    def resolve(self, name: str) -> Reachable:
        """The entry ``name`` names exactly, or PermissionDenied saying why it is not reachable."""
        key = wire_name(name)
        with self._lock:
            found = self._resolved.get(key)
        if found is not None:
            return found
        if key in self.defaults:
            found = Reachable(key, self._default(key), self.defaults[key])
        elif key in self.extra:
            found = self._added(key)
        else:
            raise refusal(name, self._why_not(key))
        with self._lock:
            self._resolved[key] = found
        return found

    def _default(self, key: str) -> Any:
        obj = getattr(dspy, key.removeprefix("dspy."), None)
        if obj is None:
            raise FailedPrecondition(f"call_dspy: the installed DSPy {dspy.__version__} has no {key}")
        return obj

    def _added(self, key: str) -> Reachable:
        module_name, _, attribute = key.rpartition(".")
        try:
            obj = getattr(dspy_submodule(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise FailedPrecondition(f"call_dspy: {key} (listed in {OPTION}) does not resolve: {exc}") from None
        module = getattr(obj, "__module__", None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not str(module).startswith("dspy"):
            raise FailedPrecondition(
                f"call_dspy: {key} (listed in {OPTION}) is not a class or function defined in DSPy"
            )
        return Reachable(key, obj, kind_of(obj))

    def _why_not(self, key: str) -> str:
        reason = next((why for name, why in WITHHELD_NAMES if key == name or key.startswith(f"{name}.")), None)
        listed = f"the allow-list ({', '.join(self.names())}; the operator adds names with {OPTION})"
        if reason is not None:
            return f"{reason}, so it is not on {listed}"
        return f"it is not on {listed}"


def refusal(name: str, reason: str) -> PermissionDenied:
    return PermissionDenied(f"call_dspy: {name[:120]!r} is refused: {reason}")


def kind_of(obj: Any) -> str:
    """The kind of a class or function the operator added (what its stored instances may be asked)."""
    if inspect.isclass(obj):
        for base, kind in (
            (dspy.Module, "module"),
            (dspy.Example, "data"),
            (dspy.teleprompt.Teleprompter, "optimizer"),
        ):
            if issubclass(obj, base):
                return kind
    return "other"


def allow_list(host: Host) -> AllowList:
    return host.state(STATE_KEY, lambda: AllowList(host.option("dspy_call_allow")))
