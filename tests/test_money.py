from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from bot.money import Money

MONEY = TypeAdapter(Money)


def test_floats_are_refused() -> None:
    with pytest.raises(ValidationError, match="must not be floats"):
        Money(amount=0.1, currency="EUR")  # type: ignore[arg-type]


def test_cents_as_strings_convert_exactly() -> None:
    amounts = [Money.from_minor(cents, "EUR") for cents in ("10", "20", "70")]
    assert Money.total(amounts, "EUR") == Money.of("1.00", "EUR")
    assert Money.from_minor("123456", "EUR").amount == Decimal("1234.56")
    assert Money.from_minor("-2500", "EUR").format() == "-€25.00"


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "usd"])
@pytest.mark.parametrize("cents", ["0", "-0", "7", "007", "12345", " 99 ", "-2500"])
def test_cents_read_from_text_equal_the_same_count_as_a_number(cents: str, currency: str) -> None:
    """Plain digits are read as they are written; the amount, its digits and its dump are
    the ones the number of cents gives (so "-0" is 0, never -0)."""
    read, counted = Money.from_minor(cents, currency), Money.from_minor(int(cents), currency)
    assert read == counted
    assert str(read.amount) == str(counted.amount)
    assert MONEY.dump_json(read) == MONEY.dump_json(Money.of(counted.amount, currency))


def test_cents_beyond_20_digits_are_refused_whichever_way_they_come() -> None:
    """Past 28 digits a decimal rounds: such an amount was once read as another one,
    silently, or failed later when summed; two of 28 digits still failed when summed.
    Past 20 it is no amount at all, so it is refused."""
    most = "9" * 20
    assert Money.from_minor(most, "EUR").amount == Decimal(most[:-2] + "." + most[-2:])
    assert Money.from_minor("-" + most, "JPY").amount == -Decimal(most)
    many = "1" + "0" * 20
    for cents in (many, int(many), "-" + many, "000" + many):
        with pytest.raises(ValueError, match="more than any amount"):
            Money.from_minor(cents, "EUR")
    with pytest.raises(ValidationError, match="more than any amount"):
        Money.of("1" * 30, "EUR")


@pytest.mark.parametrize("cents", ["1.5", "NaN", "1e3", "+5", "²", "", "-"])
def test_cents_that_are_not_a_whole_number_are_refused(cents: str) -> None:
    with pytest.raises(ValueError, match=r"minor units|invalid literal"):
        Money.from_minor(cents, "EUR")


def test_minor_units_follow_the_currency() -> None:
    assert Money.from_minor(1000, "JPY").format() == "¥1,000"
    assert Money.from_minor(1250, "KWD").format() == "KWD 1.250"
    assert Money.from_minor(123450, "EUR").format() == "€1,234.50"
    assert Money.of("1234.5", "usd").format() == "$1,234.50"
    assert Money.of(3, "SEK").format() == "SEK 3.00"
    assert Money.of("1234.50", "EUR").to_minor() == 123450
    assert Money.of("1.250", "KWD").to_minor() == 1250
    # Two units of account carry four decimals (ISO 4217): a provider's amount in them
    # is read to the ten-thousandth, not refused or rounded to cents.
    assert Money.from_minor(12345, "CLF").format() == "CLF 1.2345"
    assert Money.of("0.0001", "UYW").to_minor() == 1


def test_more_precision_than_the_currency_has_is_an_error_not_a_rounding() -> None:
    with pytest.raises(ValidationError, match="more decimals than EUR allows"):
        Money.of("10.005", "EUR")
    with pytest.raises(ValidationError, match="more decimals than JPY allows"):
        Money.of("10.5", "JPY")
    assert Money.of("10.500", "EUR").amount == Decimal("10.50")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("10.005", "EUR", "10.01"),
        ("10.004", "EUR", "10.00"),
        ("-10.005", "EUR", "-10.01"),
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_explicit_rounding_is_half_up(value: str, currency: str, expected: str) -> None:
    assert Money.rounded(value, currency).amount == Decimal(expected)


def test_currencies_do_not_mix() -> None:
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        Money.of(1, "EUR") + Money.of(1, "USD")
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money.of(1, "EURO")


def test_money_round_trips_through_json_as_a_string() -> None:
    money = Money.of("1234.50", "EUR")
    dumped = MONEY.dump_python(money, mode="json")
    assert dumped == {"amount": "1234.50", "currency": "EUR"}
    assert MONEY.validate_python(dumped) == money
