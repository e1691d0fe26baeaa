"""The money type on its own: constraints, validation rules, wire form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from snakepit_example.money import Money, MoneyType

from snakepit_host._errors import InvalidArgument
from snakepit_host._value_types import ValueType

MONEY = MoneyType()


def test_implements_the_host_value_type_protocol() -> None:
    assert isinstance(MONEY, ValueType)
    info = MONEY.describe()
    assert info["python_type"] == "snakepit_example.money.Money"
    assert set(info["constraints"]["properties"]) == {"currencies", "min", "max", "max_places"}


def test_constraints_are_normalised() -> None:
    checked = MONEY.check_constraints({"currencies": ["EUR", "USD", "EUR"], "min": 0, "max": "99.5", "max_places": 2})
    assert checked == {"currencies": ["EUR", "USD"], "min": "0", "max": "99.5", "max_places": 2}


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ({"maximum": "5"}, "unknown constraint 'maximum' (accepted: currencies, max, max_places, min)"),
        ({"currencies": []}, "'currencies' must be a non-empty list"),
        ({"currencies": ["eur"]}, "'currencies' has 'eur', not a 3-letter ISO 4217 code"),
        ({"min": 0.5}, "constraint 'min' must be a decimal string such as '12.50', not a float"),
        ({"max": "1e3"}, "constraint 'max' '1e3' is not a plain decimal number"),
        ({"min": "10", "max": "5"}, "constraint min 10 is above max 5"),
        ({"max_places": True}, "'max_places' must be an integer from 0 to 18, got True"),
        ({"max_places": -1}, "'max_places' must be an integer from 0 to 18, got -1"),
        (["min"], "money constraints must be an object, got list"),
    ],
)
def test_bad_constraints_name_the_key_and_the_rule(constraints: Any, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        MONEY.check_constraints(constraints)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        {"amount": "12.50", "currency": "EUR"},
        "12.50 EUR",
        Money(Decimal("12.50"), "EUR"),
    ],
)
def test_accepted_forms(value: Any) -> None:
    money = MONEY.validate(value, {})
    assert money == Money(Decimal("12.50"), "EUR") and str(money) == "12.50 EUR"


def test_integer_amounts_convert_losslessly() -> None:
    assert MONEY.validate({"amount": 12, "currency": "JPY"}, {}).amount == Decimal(12)


@pytest.mark.parametrize(
    ("value", "constraints", "message"),
    [
        ({"amount": 0.1, "currency": "EUR"}, {}, "not a float (0.1 is inexact)"),
        ({"amount": "NaN", "currency": "EUR"}, {}, "'NaN' is not a plain decimal number"),
        ({"amount": "1e2", "currency": "EUR"}, {}, "'1e2' is not a plain decimal number"),
        ({"amount": True, "currency": "EUR"}, {}, "got bool True"),
        ({"amount": "1", "currency": "eur"}, {}, "3-letter ISO 4217 code in capitals such as 'EUR', got 'eur'"),
        ({"amount": "1"}, {}, "missing 'currency'"),
        ({"amount": "1", "currency": "EUR", "note": "x"}, {}, "unknown key 'note'"),
        ("12.50", {}, "money text must look like '12.50 EUR'"),
        (12.5, {}, "got float"),
        ("5 JPY", {"currencies": ["EUR", "USD"]}, "currency JPY is not allowed (allowed: EUR, USD)"),
        ("-1 EUR", {"min": "0"}, "-1 EUR is below min 0"),
        ("100.01 EUR", {"max": "100"}, "100.01 EUR is above max 100"),
        ("1.005 EUR", {"max_places": 2}, "amount 1.005 has 3 decimal places, more than max_places 2"),
    ],
)
def test_refusals_say_which_rule_failed(value: Any, constraints: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        MONEY.validate(value, MONEY.check_constraints(constraints))
    assert message in str(caught.value)


def test_limits_are_inclusive() -> None:
    constraints = MONEY.check_constraints({"min": "0", "max": "100", "max_places": 2})
    assert MONEY.validate("0 EUR", constraints).amount == 0
    assert MONEY.validate("100.00 EUR", constraints).amount == 100


def test_wire_form_round_trips_exactly() -> None:
    money = MONEY.validate("0.10 USD", {})
    data, binary = MONEY.to_wire(money)
    assert data == {"amount": "0.10", "currency": "USD"} and binary is None
    assert MONEY.from_wire(data, None) == money


def test_no_binary_form() -> None:
    with pytest.raises(InvalidArgument, match="no binary form"):
        MONEY.from_wire({"amount": "1", "currency": "EUR"}, b"\x00")
