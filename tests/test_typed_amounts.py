"""Amounts people type: one reading or a plain refusal, never a silent guess."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest

from bot.money import AmountError, Money, minor_units, parse_amount, thousands_mark


@pytest.mark.parametrize(
    ("typed", "currency", "expected"),
    [
        ("12.50", "CAD", "12.50"),
        ("12,50", "CAD", "12.50"),  # a decimal comma: never CA$1,250.00
        ("12,5", "USD", "12.5"),
        ("12", "CAD", "12"),
        (" 7.05 ", "GBP", "7.05"),
        ("0.01", "EUR", "0.01"),
        ("1,234", "CAD", "1234"),  # comma then three digits: CAD's thousands separator
        ("1.234", "EUR", "1234"),  # dot then three digits: EUR's thousands separator
        ("1,234.50", "USD", "1234.50"),
        ("1.234,50", "EUR", "1234.50"),
        ("1.234,50", "CAD", "1234.50"),  # both marks: the last is the decimal one
        ("1,234,567.89", "USD", "1234567.89"),
        ("1.000.000", "EUR", "1000000"),
        ("1,234", "JPY", "1234"),
        ("007", "USD", "7"),
        ("0,500", "KWD", "0.5"),  # no thousands start with 0: a decimal comma
        ("1234.567", "KWD", "1234.567"),
    ],
)
def test_amounts_read_one_way(typed: str, currency: str, expected: str) -> None:
    places = minor_units(currency)
    got = parse_amount(typed, places, thousands=thousands_mark(currency))
    assert got == Decimal(expected)


@pytest.mark.parametrize(
    ("typed", "currency", "says"),
    [
        ("-5", "CAD", "must be more than 0"),
        ("0", "CAD", "must be more than 0"),
        ("0.00", "CAD", "must be more than 0"),
        ("", "CAD", "Type the amount"),
        ("12.505", "CAD", "3 decimals, and at most 2 are allowed, like 12.50; if you meant 12505"),
        ("1,234", "EUR", "at most 2 are allowed, like 12.50; if you meant 1234, type it"),
        ("1,234", "KWD", "could be 1234 or 1.234"),  # KWD has three decimals
        ("0.001", "CAD", "At most 2 decimals, like 12.50"),  # not "if you meant 0001"
        ("0,001", "CAD", "At most 2 decimals, like 12.50"),  # not "like 0001"
        ("1234,567", "CAD", "At most 2 decimals, like 12.50"),
        ("12.5", "JPY", "whole number"),
        ("12,50", "JPY", "whole number"),
        ("1.2345", "CAD", "At most 2 decimals"),
        ("1,23,4", "CAD", "group thousands by three"),
        ("12,34,567", "CAD", "group thousands by three"),
        ("1,2345.00", "USD", "group thousands by three"),
        ("0,500.00", "USD", "group thousands by three"),
        ("1.234.5", "EUR", "group thousands by three"),
        ("1.2.3,5", "EUR", "group thousands by three"),
        ("1,2.3,4", "EUR", "more than one decimal separator"),
        ("1,234.5,6", "USD", "more than one decimal separator"),
        ("$12", "USD", "only the number"),
        ("12 EUR", "EUR", "only the number"),
        ("1 000", "EUR", "only the number"),
        ("+5", "CAD", "only the number"),
        ("1e3", "CAD", "only the number"),
        ("NaN", "CAD", "only the number"),
        ("Infinity", "CAD", "only the number"),
        (".5", "CAD", "only the number"),
        ("5.", "CAD", "only the number"),
        ("\uff11\uff12", "CAD", "the digits 0 to 9"),  # full-width digits
        ("9" * 13, "CAD", "too large"),
    ],
)
def test_what_cannot_be_read_without_guessing_is_refused(
    typed: str, currency: str, says: str
) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed, minor_units(currency), thousands=thousands_mark(currency))
    assert says in str(refused.value)
    assert "Error" not in str(refused.value) and "Decimal" not in str(refused.value)


def test_zero_tax_is_allowed_where_asked_for() -> None:
    assert parse_amount("0", 2, allow_zero=True, what="tax") == 0
    with pytest.raises(AmountError, match="The quantity must be more than 0"):
        parse_amount("0", 2, what="quantity")
    with pytest.raises(AmountError, match="The tax must be 0 or more"):  # as it takes 0
        parse_amount("-1", 2, allow_zero=True, what="tax")


def _written(amount: Decimal, places: int, decimal_mark: str, group: str) -> str:
    whole, _, fraction = f"{amount:.{places}f}".partition(".")
    if group:
        whole = f"{int(whole):,}".replace(",", group)
    return whole + (decimal_mark + fraction if fraction else "")


@pytest.mark.parametrize("seed", range(5))
def test_any_well_written_amount_reads_back_exactly(seed: int) -> None:
    """Property: every amount, written the CAD way or the EUR way, reads back as itself."""
    rng = random.Random(seed)
    for _ in range(400):
        places = rng.choice([0, 2])
        cents = rng.randint(1, 10**11)
        amount = Decimal(cents).scaleb(-places)
        for decimal_mark, group, thousands in (
            (".", ",", ","),
            (".", "", ","),
            (",", ".", "."),
            (",", "", "."),
        ):
            if places == 0 and group == "" and decimal_mark == ",":
                continue
            typed = _written(amount, places, decimal_mark, group)
            assert parse_amount(typed, places, thousands=thousands) == amount, typed


@pytest.mark.parametrize("seed", range(5))
def test_nothing_reads_as_a_different_number_of_digits(seed: int) -> None:
    """Property: whatever is accepted keeps every digit typed, in order (no dropped or
    invented digits), and never more decimals than allowed."""
    rng = random.Random(seed)
    for _ in range(2000):
        typed = "".join(rng.choice("0123456789.,,.-") for _ in range(rng.randint(1, 10)))
        places = rng.choice([0, 2, 3])
        try:
            got = parse_amount(typed, places, thousands=rng.choice(",."))
        except AmountError:
            continue
        assert got > 0
        exponent = got.as_tuple().exponent
        assert isinstance(exponent, int) and -exponent <= places, typed
        digits = "".join(c for c in typed if c.isdigit()).lstrip("0")
        assert "".join(c for c in str(got) if c.isdigit()).lstrip("0") == digits, typed


def test_a_built_invoice_holds_every_field_of_the_model() -> None:
    """The fast path sets the model's dict itself: a field it forgot would be missing."""
    from bot.models import Invoice, InvoiceStatus

    cents = Money.from_minor("100", "EUR")
    invoice = Invoice.built(
        provider="p", id="1", number="N-1", amount_due=cents, total_incl_vat=cents,
        status=InvoiceStatus.OPEN,
    )  # fmt: skip
    assert set(invoice.__dict__) == set(Invoice.model_fields)
    assert invoice.payer_email is None


def test_money_from_cents_is_two_slots_and_equals_validated_money() -> None:
    """The fast path builds no dict per amount, and what it builds is what validation
    builds: equal, hashed alike, and replaced without touching the original."""
    one = Money.from_minor("100", "EUR")
    assert not hasattr(one, "__dict__")
    assert one == Money.of("1.00", "eur") and hash(one) == hash(Money.of("1.00", "EUR"))
    changed = dataclasses.replace(one, amount=Decimal("3.00"))
    assert changed.amount == Decimal("3.00") and one.amount == Decimal("1.00")
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.amount = Decimal(2)  # type: ignore[misc]
