"""Decimal dollars from Payfirma become exact Money: no amount ever passes through a float."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.models import InvoiceQuery, InvoiceStatus, Money
from bot.provider import ProviderUnavailable
from plugins.payfirma import PayfirmaProvider, wire
from plugins.payfirma.convert import money, to_invoice
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import INVOICE_API_DOC


def documented_retrieve_example() -> bytes:
    """The "Retrieve a Specific Invoice" response sample, read from the shared docs."""
    if not INVOICE_API_DOC.is_file():
        pytest.skip(f"Payfirma's invoice API page is not at {INVOICE_API_DOC}")
    text = INVOICE_API_DOC.read_text(encoding="utf-8")
    section = text.split("### Retrieve a Specific Invoice", 1)[1]
    found = re.search(r"Response Sample\n(\{.*?\})\n```", section, re.DOTALL)
    assert found, "the retrieve section has no response sample"
    return found.group(1).encode()


def test_the_documented_retrieve_example_converts_exactly() -> None:
    invoice = to_invoice(wire.Invoice.model_validate(wire.decode(documented_retrieve_example())))
    assert invoice.total_incl_vat == Money.of("102.50", "CAD")
    assert invoice.total_incl_vat.amount == Decimal("102.50")
    assert invoice.total_excl_vat == Money.of("100", "CAD")
    assert invoice.status is InvoiceStatus.OPEN and invoice.payable
    assert (invoice.id, invoice.number) == ("212947", "212947")
    assert (invoice.created, invoice.due) == (date(2019, 2, 11), date(2019, 2, 12))


def test_point_one_plus_point_two_is_point_three() -> None:
    body = (
        b'{"invoice_id": 7, "currency": "USD", "status": "UNPAID", "sub_total": 0.3,'
        b' "total": 0.3, "items": [{"price": 0.1, "quantity": 1, "amount": 0.1},'
        b' {"price": 0.2, "quantity": 1, "amount": 0.2}]}'
    )
    item = wire.Invoice.model_validate(wire.decode(body))
    assert sum(line.amount for line in item.items) == item.total == Decimal("0.3")
    assert 0.1 + 0.2 != 0.3  # what a float would have done to us
    assert to_invoice(item).amount_due == Money.of("0.30", "USD")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("102.5", "102.50"),
        ("10.99", "10.99"),
        ("100", "100.00"),
        ("0.01", "0.01"),
        ("-24.20", "-24.20"),
        ("90071992547409.93", "90071992547409.93"),  # 2**53 + 1 cents: a float loses it
        ("1E+2", "100.00"),
    ],
)
def test_json_numbers_convert_exactly(text: str, amount: str) -> None:
    body = f'{{"invoice_id": 1, "currency": "CAD", "total": {text}}}'.encode()
    assert to_invoice(wire.Invoice.model_validate(wire.decode(body))).total_incl_vat == Money.of(
        amount, "CAD"
    )


async def test_ten_and_twenty_cents_through_the_sandbox(provider: PayfirmaProvider) -> None:
    invoice = await provider.get_invoice("212950")
    assert invoice.amount_due == Money.of("0.30", "USD")
    options = await provider.payment_options(["212950"])
    assert options.total.amount == Decimal("0.30")


async def test_a_third_decimal_is_unreadable_not_rounded(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    item = sandbox.invoices[212949]
    sandbox.invoices[212949] = item.model_copy(update={"total": Decimal("321.425")})
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.get_invoice("212949")
    assert "321.425 has more decimals than USD allows" in str(raised.value)


@pytest.mark.parametrize("value", [0.1, "0.1.0", "ten", True])
def test_floats_and_nonsense_are_refused_as_dollars(value: object) -> None:
    with pytest.raises(ValidationError):
        wire.Invoice.model_validate({"invoice_id": 1, "currency": "CAD", "total": value})


def test_dollars_sent_as_a_decimal_string_are_read_as_that_number() -> None:
    read = wire.Invoice.model_validate({"invoice_id": 1, "currency": "CAD", "total": "0.10"})
    assert read.total == Decimal("0.10")


def test_nan_and_infinity_are_refused() -> None:
    for body in (b'{"total": NaN}', b'{"total": Infinity}'):
        with pytest.raises(ValueError, match="is not a number"):
            wire.decode(body)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_a_nan_in_one_listed_invoice_sets_only_that_invoice_aside(
    provider: PayfirmaProvider, sandbox: SandboxState, constant: str
) -> None:
    """A number JSON does not have, in one invoice of the list, made the whole answer
    "not valid JSON": every other invoice of the account went missing with it."""
    items = [item.to_json() for item in sandbox.invoices.values()]
    items[0] = {**items[0], "total": "<not a number>"}
    body = wire.encode({"invoices": items}).replace(b'"<not a number>"', constant.encode())
    sandbox.list_body = body
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    assert page.unreadable == [str(items[0]["invoice_id"])]
    assert len(page.invoices) == len(items) - 1


def test_dollars_past_what_a_list_can_add_up_are_refused() -> None:
    """Two such invoices failed the list's total, and with it the whole list."""
    most = Decimal("9" * 18 + ".99")
    assert money(most, "CAD").amount == most
    for dollars in (most + 1, -(most + 1), Decimal("1E+26")):
        with pytest.raises(ValueError, match="more than any amount"):
            money(dollars, "CAD")


def test_what_we_send_is_digit_for_digit() -> None:
    body = {"amount": Decimal("0.30"), "total": Decimal("102.50"), "n": 3, "ok": True, "x": None}
    assert wire.encode(body) == b'{"amount":0.30,"total":102.50,"n":3,"ok":true,"x":null}'
    assert wire.encode([Decimal("1E+2"), "é"]) == b'[100,"\\u00e9"]'
    with pytest.raises(TypeError, match="floats never are"):
        wire.encode({"amount": 0.3})


def documented_list_example() -> bytes:
    """The "Retrieve a Set of Invoices" sample, read from the shared docs."""
    if not INVOICE_API_DOC.is_file():
        pytest.skip(f"Payfirma's invoice API page is not at {INVOICE_API_DOC}")
    text = INVOICE_API_DOC.read_text(encoding="utf-8")
    section = text.split("### Retrieve a Set of Invoices", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"Body\n(\{.*\})\n```", section, re.DOTALL)
    assert found, "the list section has no sample body"
    return found.group(1).encode()


async def test_the_documented_list_sample_is_served_and_read_without_failing(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    """Its items carry no invoice_id, so none can be paid: each is one unreadable line,
    and the list itself does not fail."""
    sandbox.list_body = documented_list_example()
    samples = wire.decode(sandbox.list_body)["invoices"]
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    assert page.invoices == [] and len(page.unreadable) == len(samples) > 0
