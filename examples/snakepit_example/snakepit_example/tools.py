"""Two tools with typed parameters: ``split_bill`` (one answer) and ``payment_schedule`` (streamed).

The type hints are the contract. The host derives each tool's JSON schema
from them (``Literal`` becomes an ``enum``, ``Annotated[int, {"minimum": 1}]``
a range, the ``Args:`` section descriptions) and validates every call
before the function runs, so the functions check only what a schema cannot
say (a decimal string that fits the currency).

Hints must be resolvable at run time (the host reads them with
``typing.get_type_hints``): import what you annotate with, not only under
``TYPE_CHECKING``. This module is imported at start-up (the host derives
the schemas then), so what only the bodies need (``decimal``, the money
parser) is imported by the bodies, on the first call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from snakepit_host import InvalidArgument, SessionContext

Currency = Literal["CHF", "EUR", "GBP", "JPY", "USD"]
MINOR_UNIT_PLACES: dict[str, int] = {"CHF": 2, "EUR": 2, "GBP": 2, "JPY": 0, "USD": 2}
MAX_PEOPLE = 1000
MAX_MONTHS = 600
People = Annotated[int, {"minimum": 1, "maximum": MAX_PEOPLE}]
Percent = Annotated[int, {"minimum": 0, "maximum": 100}]
Months = Annotated[int, {"minimum": 1, "maximum": MAX_MONTHS}]


def split_bill(total: str, people: People, currency: Currency = "EUR", tip_percent: Percent = 0) -> dict[str, Any]:
    """Split a bill into equal shares that add up exactly to the total plus tip.

    Shares differ by at most one minor unit (one cent); the larger ones come first.

    Args:
        total: the bill as a decimal string, e.g. "84.30"
        people: how many people share the bill (1 to 1000)
        currency: ISO 4217 code of the bill
        tip_percent: tip added before splitting, in whole percent (0 to 100)
    """
    from decimal import ROUND_HALF_EVEN, Decimal

    places = MINOR_UNIT_PLACES[currency]
    units = _minor_units(total, "total", places)
    with_tip = int((Decimal(units) * (100 + tip_percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return {
        "currency": currency,
        "total": _format(with_tip, places),
        "tip": _format(with_tip - units, places),
        "shares": [_format(share, places) for share in split_units(with_tip, people)],
    }


def payment_schedule(
    ctx: SessionContext, amount: str, months: Months, currency: Currency = "EUR"
) -> Iterator[dict[str, Any]]:
    """Stream an interest-free instalment plan, one month per chunk.

    A generator is a streaming tool: each yielded value is one chunk of
    ExecuteStreamingTool. It stops early when the caller goes away.

    Args:
        amount: the sum to pay off, a decimal string such as "1200.00"
        months: number of monthly instalments (1 to 600)
        currency: ISO 4217 code of the amount
    """
    places = MINOR_UNIT_PLACES[currency]
    units = _minor_units(amount, "amount", places)
    remaining = units
    for month, payment in enumerate(split_units(units, months), start=1):
        if ctx.cancelled:
            return
        remaining -= payment
        yield {"month": month, "payment": _format(payment, places), "remaining": _format(remaining, places)}


def split_units(units: int, parts: int) -> list[int]:
    """``units`` in ``parts`` whole shares that sum to ``units``, larger shares first."""
    share, rest = divmod(units, parts)
    return [share + 1 if index < rest else share for index in range(parts)]


def _minor_units(value: object, what: str, places: int) -> int:
    from snakepit_example.money import decimal_places, parse_amount

    amount = parse_amount(value, what)
    if amount < 0:
        raise InvalidArgument(f"{what} must not be negative, got {amount}")
    if decimal_places(amount) > places:
        raise InvalidArgument(f"{what} {amount} has more decimal places than the currency's {places}")
    return int(amount.scaleb(places))


def _format(units: int, places: int) -> str:
    from decimal import Decimal

    return str(Decimal(units).scaleb(-places))
