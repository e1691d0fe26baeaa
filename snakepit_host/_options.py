"""Plugin options: declared once, typed, checked once at start-up.

A plugin declares its settings in ``register_options`` with
``register.option(name, type=..., default=..., env=..., ...)``. The host
turns each into a ``serve`` flag (``--<name with dashes>``) and reads the
value from the command line, else the environment variable, else the
default, converting and checking it before any registration hook runs. A
value that does not convert (or is not one of ``choices``, or is below
``minimum``) is that plugin's error: it is withdrawn and listed with the
reason, and strict mode makes it fatal. ``host.option(name)`` then returns
the typed value; nothing reads ``os.environ`` for a declared setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from snakepit_host._errors import RegistrationError

OPTION_TYPES: tuple[type, ...] = (str, int, float, bool)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean (1/0, true/false, yes/no)"}


class Option:
    """One declared option (what ``register.option`` recorded).

    A plain class with slots: every worker start defines this class, and
    defining a NamedTuple or a dataclass costs ~0.4 ms or more.
    """

    __slots__ = ("choices", "default", "env", "help", "metavar", "minimum", "name", "owner", "type")

    def __init__(
        self,
        name: str,
        owner: str,
        *,
        type: type,
        default: Any,
        env: str | None,
        choices: tuple[Any, ...] | None,
        minimum: float | None,
        metavar: str | None,
        help: str,
    ) -> None:
        self.name = name
        self.owner = owner
        self.type = type
        self.default = default
        self.env = env
        self.choices = choices
        self.minimum = minimum
        self.metavar = metavar
        self.help = help

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def help_text(self) -> str:
        """The help line of ``serve --help``: the plugin's words, then the default and the variable."""
        notes = []
        if self.choices is not None:
            notes.append("one of " + ", ".join(map(str, self.choices)))
        if self.minimum is not None:
            notes.append(f"at least {self.minimum:g}")
        if self.default not in (None, ""):
            notes.append(f"default {self.default}")
        if self.env:
            notes.append(f"env {self.env}")
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help

    def resolve(self, given: Any, environ: Mapping[str, str]) -> Any:
        """The typed value: ``given`` (command line or test), else the environment, else the default.

        An empty environment variable counts as unset (``FOO= snakepit-host serve``).
        """
        if given is not None:
            return self._check(given, self.flag)
        raw = environ.get(self.env, "") if self.env is not None else ""
        return self._check(raw, f"${self.env}") if raw else self.default

    def _check(self, raw: Any, source: str) -> Any:
        value = _convert(self.type, raw)
        if value is None:
            raise ValueError(f"option {self.flag}: {source} is {raw!r:.100}, not {_TYPE_WORDS[self.type]}")
        if self.choices is not None and value not in self.choices:
            choices = ", ".join(map(str, self.choices))
            raise ValueError(f"option {self.flag}: {source} is {raw!r:.100}, not one of {choices}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"option {self.flag}: {source} is {raw!r:.100}, below the minimum {self.minimum:g}")
        return value


def _convert(kind: type, raw: Any) -> Any:
    """``raw`` as ``kind``, or None when it is not one (strings are parsed; typed values are taken as they are)."""
    if isinstance(raw, str):
        text = raw.strip()
        if kind is str:
            return raw
        if kind is bool:
            word = text.lower()
            return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
        try:
            return kind(text)
        except ValueError:
            return None
    if kind is float and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, kind) and (kind is bool or not isinstance(raw, bool)):
        return raw
    return None


class OptionRegistrar:
    """What ``register_options`` receives: ``register.option(...)``, bound to one plugin."""

    def __init__(self, table: OptionTable, owner: str) -> None:
        self._table = table
        self.owner = owner

    def option(
        self,
        name: str,
        *,
        type: type = str,
        default: Any = None,
        env: str | None = None,
        choices: Sequence[Any] | None = None,
        minimum: float | None = None,
        metavar: str | None = None,
        help: str = "",
    ) -> None:
        """Declare the setting ``name`` (flag ``--<name with dashes>``), read with ``host.option(name)``."""
        where = f"plugin '{self.owner}': option {name!r}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise RegistrationError(f"{where} must be lower case letters, digits and '_', starting with a letter")
        if type not in OPTION_TYPES:
            raise RegistrationError(f"{where}: type must be one of str, int, float, bool, not {type!r}")
        if env is not None and not _ENV.match(env):
            raise RegistrationError(f"{where}: env {env!r} must be an upper-case environment variable name")
        if minimum is not None and type not in (int, float):
            raise RegistrationError(f"{where}: minimum applies to int and float options only")
        spec = Option(
            name=name,
            owner=self.owner,
            type=type,
            default=None,
            env=env,
            choices=tuple(choices) if choices is not None else None,
            minimum=minimum,
            metavar=metavar,
            help=" ".join(help.split()),
        )
        if default is not None:
            try:
                spec.default = spec._check(default, "its default")
            except ValueError as exc:
                raise RegistrationError(f"plugin '{self.owner}': {exc}") from None
        self._table.add(spec)


class OptionTable:
    """Every declared option, owner-tracked, and the values resolved at start-up."""

    def __init__(self) -> None:
        self.specs: dict[str, Option] = {}
        self.values: dict[str, Any] = {}

    def registrar(self, owner: str) -> OptionRegistrar:
        return OptionRegistrar(self, owner)

    def add(self, spec: Option) -> None:
        existing = self.specs.get(spec.name)
        if existing is not None:
            raise RegistrationError(
                f"option {spec.flag} from plugin '{spec.owner}' collides with option {spec.flag} "
                f"declared by plugin '{existing.owner}'"
            )
        self.specs[spec.name] = spec

    def withdraw(self, owner: str) -> None:
        for name in [n for n, spec in self.specs.items() if spec.owner == owner]:
            del self.specs[name]
            self.values.pop(name, None)

    def owned_by(self, owner: str) -> list[Option]:
        return [spec for spec in self.specs.values() if spec.owner == owner]

    def value(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            known = ", ".join(sorted(self.values)) or "none"
            raise KeyError(f"no plugin option {name!r} (declare it in register_options; declared: {known})") from None
