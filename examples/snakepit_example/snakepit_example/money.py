"""The ``money`` value type: an exact decimal amount with an ISO 4217 currency.

Why a custom type: a float cannot hold 0.10 exactly, so money travels as a
decimal *string* plus a currency code, ``{"amount": "12.50", "currency":
"EUR"}``, and is a :class:`Money` (``decimal.Decimal`` amount) in Python.
It implements :class:`snakepit_host.ValueType`, so
snakepit-variables can hold ``money`` variables with constraints::

    ctx.variables.register("budget", "money", "250.00 EUR",
                           constraints={"currencies": ["EUR", "USD"], "min": "0", "max_places": 2})

Only lossless conversions are made: floats are refused (``0.1`` is not
what anyone meant), and so are exponents, NaN and lower-case codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from snakepit_host import InvalidArgument

_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PLACES_LIMIT = 18
MAX_AMOUNT_DIGITS = 40
"""Longest amount accepted (digits), so a hostile value cannot make arithmetic slow."""

CONSTRAINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "currencies": {
            "type": "array",
            "items": {"type": "string", "pattern": _CURRENCY.pattern},
            "minItems": 1,
            "description": "allowed ISO 4217 currency codes",
        },
        "min": {"type": "string", "pattern": _AMOUNT.pattern, "description": "smallest amount (decimal string)"},
        "max": {"type": "string", "pattern": _AMOUNT.pattern, "description": "largest amount (decimal string)"},
        "max_places": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_PLACES_LIMIT,
            "description": "most digits after the decimal point",
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Money:
    """An amount in one currency. ``str(Money(Decimal("12.50"), "EUR"))`` is ``"12.50 EUR"``."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def parse_amount(value: object, what: str = "amount") -> Decimal:
    """A decimal string such as ``"12.50"`` (or an int) as a Decimal; anything else is refused, saying why."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{what} must be a decimal string such as '12.50', got bool {value}")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, float):
        raise InvalidArgument(f"{what} must be a decimal string such as '12.50', not a float ({value!r} is inexact)")
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a decimal string such as '12.50', got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_AMOUNT_DIGITS + 2 or not _AMOUNT.match(text):
        raise InvalidArgument(
            f"{what} {value[:50]!r} is not a plain decimal number (digits, optional sign and '.', "
            f"at most {MAX_AMOUNT_DIGITS} digits)"
        )
    return Decimal(text)


def decimal_places(amount: Decimal) -> int:
    """Digits after the point as written: ``12.50`` has 2."""
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidArgument(f"currency must be a 3-letter ISO 4217 code in capitals such as 'EUR', got {value!r}")
    return value


def parse_money(value: object) -> Money:
    """A :class:`Money`, ``{"amount": "12.50", "currency": "EUR"}`` or ``"12.50 EUR"``."""
    if isinstance(value, Money):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in ("amount", "currency"))
        missing = [key for key in ("amount", "currency") if key not in value]
        if unknown or missing:
            problems = [f"missing '{key}'" for key in missing] + [f"unknown key '{key}'" for key in unknown]
            raise InvalidArgument("money object must have exactly 'amount' and 'currency': " + "; ".join(problems))
        return Money(parse_amount(value["amount"]), parse_currency(value["currency"]))
    if isinstance(value, str):
        parts = value.split()
        if len(parts) != 2:
            raise InvalidArgument(f"money text must look like '12.50 EUR', got {value[:50]!r}")
        return Money(parse_amount(parts[0]), parse_currency(parts[1]))
    raise InvalidArgument(
        "money must be an object {'amount': '12.50', 'currency': 'EUR'} or text '12.50 EUR', "
        f"got {type(value).__name__}"
    )


class MoneyType:
    """``money`` for snakepit-host's type registry (protocol: :class:`snakepit_host.ValueType`)."""

    name = "money"
    description = "An exact decimal amount with an ISO 4217 currency; JSON {'amount': '12.50', 'currency': 'EUR'}"

    def check_constraints(self, constraints: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and normalise constraints once, when a variable is registered."""
        if not isinstance(constraints, Mapping):
            raise InvalidArgument(f"money constraints must be an object, got {type(constraints).__name__}")
        accepted = CONSTRAINT_SCHEMA["properties"]
        checked: dict[str, Any] = {}
        for key, value in constraints.items():
            if key not in accepted:
                raise InvalidArgument(f"money: unknown constraint '{key}' (accepted: {', '.join(sorted(accepted))})")
            if key == "currencies":
                checked[key] = _check_currencies(value)
            elif key in ("min", "max"):
                checked[key] = str(parse_amount(value, f"constraint '{key}'"))
            else:
                checked[key] = _check_max_places(value)
        if "min" in checked and "max" in checked and Decimal(checked["min"]) > Decimal(checked["max"]):
            raise InvalidArgument(f"money: constraint min {checked['min']} is above max {checked['max']}")
        return checked

    def validate(self, value: Any, constraints: Mapping[str, Any]) -> Money:
        """Convert ``value`` to :class:`Money` and apply (already checked) constraints."""
        money = parse_money(value)
        allowed = constraints.get("currencies")
        if allowed is not None and money.currency not in allowed:
            raise InvalidArgument(f"currency {money.currency} is not allowed (allowed: {', '.join(allowed)})")
        if "min" in constraints and money.amount < Decimal(constraints["min"]):
            raise InvalidArgument(f"{money} is below min {constraints['min']}")
        if "max" in constraints and money.amount > Decimal(constraints["max"]):
            raise InvalidArgument(f"{money} is above max {constraints['max']}")
        places = decimal_places(money.amount)
        if "max_places" in constraints and places > constraints["max_places"]:
            raise InvalidArgument(
                f"amount {money.amount} has {places} decimal places, more than max_places {constraints['max_places']}"
            )
        return money

    def to_wire(self, value: Any) -> tuple[Any, bytes | None]:
        money = parse_money(value)
        return {"amount": str(money.amount), "currency": money.currency}, None

    def from_wire(self, data: Any, binary: bytes | None) -> Money:
        if binary is not None:
            raise InvalidArgument("type money has no binary form; send {'amount': '12.50', 'currency': 'EUR'}")
        return parse_money(data)

    def constraint_schema(self) -> dict[str, Any]:
        return CONSTRAINT_SCHEMA

    def describe(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "python_type": f"{Money.__module__}.{Money.__qualname__}",
            "wire": "JSON",
            "constraints": self.constraint_schema(),
        }


def _check_currencies(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidArgument(f"money: constraint 'currencies' must be a non-empty list of codes, got {value!r}")
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _CURRENCY.match(item):
            raise InvalidArgument(f"money: constraint 'currencies' has {item!r}, not a 3-letter ISO 4217 code")
        if item not in codes:
            codes.append(item)
    return codes


def _check_max_places(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PLACES_LIMIT:
        raise InvalidArgument(
            f"money: constraint 'max_places' must be an integer from 0 to {MAX_PLACES_LIMIT}, got {value!r}"
        )
    return value
