"""Digits other than 0 to 9 (Arabic-Indic, fullwidth, superscript): Python's `int`, `Decimal` and
`str.isdigit` take them for numbers; nothing a person types or a provider sends is read
as an amount, a date or an invoice that way."""

from __future__ import annotations

from typing import Any

import pytest

from bot.approvals_policy import Policy, PolicyError
from bot.kit.paging import BadCursor, OffsetCursor
from bot.money import AmountError, Money, parse_amount
from bot.provider import InvoiceNotFound
from bot.reading import tolerant
from bot.slack.subcommands import _day
from bot.slack.values import BadValue, PayTarget
from plugins.i3d.convert import _nothing_left
from plugins.i3d.paging import RangedData
from plugins.i3d.sandbox.samples import invoice as i3d_invoice
from plugins.payfirma import listing as payfirma_listing
from plugins.payfirma import wire as payfirma_wire
from plugins.payfirma.convert import moment
from plugins.pingproxies import wire as pingproxies_wire

OTHER = [
    "\u0661\u0662\u0663",
    "\uff11\uff12\uff13",
    "\u06f1\u06f2\u06f3",
    "\u0967\u0968\u0969",
    "\u00b2",
]


@pytest.mark.parametrize("typed", OTHER)
def test_a_typed_amount_in_other_digits_is_refused_saying_which_digits(typed: str) -> None:
    with pytest.raises(AmountError, match=r"with the digits 0 to 9, like 12\.50"):
        parse_amount(typed, 2)
    with pytest.raises(AmountError, match="digits 0 to 9"):
        parse_amount("1" + typed + ".50", 2)


@pytest.mark.parametrize("digits", OTHER)
def test_an_amount_a_provider_sends_in_other_digits_is_unreadable(digits: str) -> None:
    with pytest.raises(ValueError):
        Money.of(digits, "EUR")
    with pytest.raises(ValueError):
        Money.from_minor(digits, "EUR")
    with pytest.raises(ValueError):
        Money.from_minor("-" + digits, "EUR")
    with pytest.raises(ValueError):  # Payfirma: dollars as a string, the usual drift
        tolerant(payfirma_wire.Invoice, {"invoice_id": 7, "total": digits}, "invoice")
    with pytest.raises(ValueError):
        tolerant(payfirma_wire.Invoice, {"invoice_id": digits, "total": 1}, "invoice")
    with pytest.raises(ValueError):  # PingProxies: cents as an int, or a digit string
        tolerant(pingproxies_wire.Invoice, _pingproxies(invoice_total=digits), "invoice")
    cents = i3d_invoice("1", "I-1", "x", 500, 500, created=0, due=0)
    with pytest.raises(ValueError):
        _nothing_left(cents.model_copy(update={"remainingAmount": digits}))


def _pingproxies(**changed: Any) -> dict[str, Any]:
    from plugins.pingproxies.sandbox.samples import invoice

    item = invoice("inv_1", "P-1", "x", 500, created=0, due=0).model_dump(mode="json")
    return item | changed


def test_the_usual_drift_still_reads() -> None:
    read = tolerant(payfirma_wire.Invoice, {"invoice_id": "7", "total": "12.50"}, "invoice")
    assert (read.invoice_id, read.total) == (7, Money.of("12.50", "USD").amount)
    assert Money.from_minor("-120", "EUR") == Money.of("-1.20", "EUR")


@pytest.mark.parametrize("digits", OTHER)
def test_an_invoice_number_typed_in_other_digits_is_no_payfirma_invoice(digits: str) -> None:
    with pytest.raises(InvoiceNotFound):
        payfirma_listing.number(digits)


@pytest.mark.parametrize("digits", OTHER)
def test_dates_and_page_ranges_in_other_digits_are_not_read(digits: str) -> None:
    with pytest.raises(ValueError):
        moment(digits)  # Payfirma epoch milliseconds
    assert RangedData.parse(f"start=0,results={digits},total=50") == RangedData(0, 0, 50)
    month = "2026-1" + digits[-1]
    said = _day(month, end=False)
    assert isinstance(said, str) and "is not a date: write dates as YYYY-MM-DD" in said


def test_an_approval_bracket_in_other_digits_is_refused() -> None:
    with pytest.raises(PolicyError, match="should read like `EUR 500 1`"):
        Policy.parse("EUR \u0665\u0660\u0660 1 U0ALEX")
    with pytest.raises(PolicyError, match="should read like `EUR 500 1`"):
        Policy.parse("EUR 500 \uff11 U0ALEX")


def test_spaces_around_a_number_still_read_as_before() -> None:
    """Only the digits are held to 0 to 9: a no-break space around them is trimmed."""
    assert Money.of("12.50\u00a0", "EUR") == Money.from_minor("\u00a01250 ", "EUR")
    assert moment("\u00a01717200000000") == moment(1_717_200_000_000)
    assert RangedData.parse("start=0,results=\u00a050") == RangedData(0, 50, None)


@pytest.mark.parametrize("digits", OTHER)
def test_values_and_cursors_of_buttons_in_other_digits_are_refused(digits: str) -> None:
    """Ours to write, so only a forged click carries them: refused, never read or raised."""
    with pytest.raises(BadValue):
        PayTarget.decode(f"i3d|7|||{digits}EUR")
    with pytest.raises(BadCursor):
        OffsetCursor("Acme").decode(f"offset:{digits}")
