"""Listing, retrieving and per-customer reading of Payfirma invoices, against the sandbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bot.models import InvoiceQuery, InvoiceStatus, Money
from bot.provider import InvoiceNotFound
from bot.reading import tolerant
from plugins.payfirma import PayfirmaProvider, wire
from plugins.payfirma.convert import day, moment, to_invoice
from plugins.payfirma.paging import BadCursor
from plugins.payfirma.sandbox import SandboxState, generate_invoices, sample_invoices
from tests.payfirma.conftest import LIST

NOW = 1_717_200_000  # 2024-06-01 00:00 UTC


async def test_sample_account_converts_to_what_a_person_expects(
    provider: PayfirmaProvider,
) -> None:
    page = await provider.list_invoices(InvoiceQuery())
    by_id = {item.id: item for item in page.invoices}
    assert list(by_id) == [str(n) for n in range(212947, 212953)] and page.next_cursor is None

    consulting = by_id["212947"]
    assert (consulting.number, consulting.status, consulting.payable) == (
        "212947",
        InvoiceStatus.OPEN,
        True,
    )
    assert consulting.amount_due == consulting.total_incl_vat == Money.of("102.50", "CAD")
    assert consulting.total_excl_vat == Money.of("100", "CAD")
    assert consulting.payer == "Dana Whitfield (dana@northwind.example)"
    assert consulting.provider == "payfirma"

    overdue = by_id["212948"]
    assert overdue.overdue and overdue.amount_due == Money.of("57.75", "CAD")

    usd = by_id["212949"]
    assert usd.currency == "USD" and usd.amount_due == Money.of("321.43", "USD")

    paid = by_id["212951"]
    assert paid.status is InvoiceStatus.PAID and paid.amount_due.is_zero() and not paid.payable
    assert paid.total_incl_vat == Money.of("45.00", "CAD")

    draft = by_id["212952"]
    assert draft.status is InvoiceStatus.DRAFT and not draft.payable


async def test_the_list_asks_only_for_a_limit(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    await provider.list_invoices(InvoiceQuery(limit=4))
    (seen,) = [seen for seen in sandbox.requests if seen.path == LIST]
    assert seen.raw_path == "/invoice?limit=5"  # one more, to know whether a next page exists


async def test_paging_walks_every_invoice_once(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    sandbox.add_invoices(generate_invoices(49, now=NOW))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await provider.list_invoices(InvoiceQuery(limit=20, cursor=cursor))
        seen += [item.id for item in page.invoices]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 55
    asked = [s.raw_path for s in sandbox.requests if s.path == LIST]
    assert asked == ["/invoice?limit=21", "/invoice?limit=41", "/invoice?limit=61"]


async def test_status_and_text_filters_apply_client_side(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    open_only = await provider.list_invoices(InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN})))
    assert [item.id for item in open_only.invoices] == ["212947", "212948", "212949", "212950"]
    northwind = await provider.list_invoices(InvoiceQuery(text="NORTHWIND.example"))
    assert [item.id for item in northwind.invoices] == ["212947", "212950"]


async def test_get_invoice_by_its_number(provider: PayfirmaProvider) -> None:
    invoice = await provider.get_invoice(" 212949 ")
    assert invoice.payer == "Sam Okafor (sam@harbourlabs.example)"
    assert invoice.description == "Support plan"


@pytest.mark.parametrize("key", ["999999", "INV-1", "", "12.5", "-3"])
async def test_unknown_invoice_says_so(
    provider: PayfirmaProvider, sandbox: SandboxState, key: str
) -> None:
    with pytest.raises(InvoiceNotFound) as raised:
        await provider.get_invoice(key)
    assert str(raised.value) == f"Payfirma has no invoice {key!r} for this account."
    asked = [seen.path for seen in sandbox.requests if seen.path.startswith("/invoice/")]
    assert asked == (["/invoice/999999"] if key == "999999" else [])


async def test_one_customers_invoices(provider: PayfirmaProvider, sandbox: SandboxState) -> None:
    invoices = await provider.customer_invoices(5001)
    assert [item.id for item in invoices] == ["212947", "212950"]
    assert [seen.raw_path for seen in sandbox.requests if "customer" in seen.path] == [
        "/invoice/customer/5001?limit=100"
    ]
    assert await provider.customer_invoices(4242) == []
    assert len(await provider.customer_invoices(5001, limit=1)) == 1


@pytest.mark.parametrize("prefix", ["/invoice", "/invoice-service/invoice"])
async def test_both_invoice_prefixes_work(
    make_provider: Callable[..., PayfirmaProvider], sandbox: SandboxState, prefix: str
) -> None:
    provider = make_provider(invoice_path=prefix)
    await provider.verify()
    assert (await provider.get_invoice("212948")).amount_due == Money.of("57.75", "CAD")
    assert await provider.send_invoice("212948", "ap@mapleleaf.example") == "ap@mapleleaf.example"
    assert {
        seen.path.rsplit("/invoice", 1)[0] for seen in sandbox.requests if "invoice" in seen.path
    } == {prefix.rsplit("/invoice", 1)[0]}


async def test_bad_cursor_is_refused(provider: PayfirmaProvider) -> None:
    with pytest.raises(BadCursor):
        await provider.list_invoices(InvoiceQuery(cursor="start:20"))


async def test_undocumented_status_is_unknown_and_logged(
    provider: PayfirmaProvider, sandbox: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    item = sandbox.invoices[212947]
    sandbox.invoices[212947] = item.model_copy(update={"status": "PARTIALLY_PAID"})
    with caplog.at_level(logging.WARNING, logger="plugins.payfirma"):
        invoice = await provider.get_invoice("212947")
    assert invoice.status is InvoiceStatus.UNKNOWN and not invoice.payable
    assert "undocumented status 'PARTIALLY_PAID'" in caplog.text


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("UNPAID", InvoiceStatus.OPEN),
        ("Unpaid", InvoiceStatus.OPEN),
        ("paid", InvoiceStatus.PAID),
        ("DRAFT", InvoiceStatus.DRAFT),
        ("CANCELLED", InvoiceStatus.VOID),
        ("OVERDUE", InvoiceStatus.UNKNOWN),
        (None, InvoiceStatus.UNKNOWN),
    ],
)
def test_statuses_are_compared_without_case(said: str | None, expected: InvoiceStatus) -> None:
    item = wire.Invoice(invoice_id=1, status=said, currency="cad", total=10)
    converted = to_invoice(item)
    assert converted.status is expected and converted.currency == "CAD"
    assert converted.payable is (expected is InvoiceStatus.OPEN)


def test_dates_are_epoch_milliseconds_or_iso() -> None:
    assert moment(1549912952000) == datetime(2019, 2, 11, 19, 22, 32, tzinfo=UTC)
    assert day(1549958399000) == date(2019, 2, 12)  # 23:59:59 in Vancouver is the 12th in UTC
    assert moment("3531-08-23T03:48:44.205Z") == datetime(
        3531, 8, 23, 3, 48, 44, 205000, tzinfo=UTC
    )
    assert day("2024-06-01T10:00:00") == date(2024, 6, 1)
    assert moment("1717200000000") == datetime(2024, 6, 1, tzinfo=UTC)
    assert moment(0) is None and moment(None) is None
    with pytest.raises(ValueError, match="not whole epoch milliseconds"):
        moment(wire.decode(b"1.5"))


async def test_iso_dates_in_a_list_are_read(
    provider: PayfirmaProvider, sandbox: SandboxState
) -> None:
    item = sandbox.invoices[212949]
    sandbox.invoices[212949] = item.model_copy(update={"due_date": "2030-01-31T08:00:00.000Z"})
    (found,) = [
        i for i in (await provider.list_invoices(InvoiceQuery())).invoices if i.id == "212949"
    ]
    assert found.due == date(2030, 1, 31)


def test_sample_data_covers_every_case() -> None:
    items = sample_invoices(NOW)
    statuses = {item.status for item in items}
    assert statuses == {"UNPAID", "PAID", "DRAFT"}
    assert {item.currency for item in items} == {"CAD", "USD"}
    unpaid = [item for item in items if item.status == "UNPAID"]
    assert {int(item.total) % 2 for item in unpaid} == {0, 1}  # both outcomes on the page
    assert len({item.customer_id for item in items}) == 3
    assert all(isinstance(item.created_date, int) for item in items)


@pytest.mark.parametrize("field", ["due_date", "created_date"])
async def test_a_boolean_for_a_date_is_unreadable_not_the_first_of_1970(
    provider: PayfirmaProvider, sandbox: SandboxState, field: str
) -> None:
    """`true` read as the millisecond 1 (JSON's booleans are Python ints): the invoice
    showed due on 1970-01-01, overdue by 56 years, and could be reminded as such."""
    sandbox.drift["212948"] = {field: True}
    page = await provider.list_invoices(InvoiceQuery(limit=100))
    assert page.unreadable == ["212948"]
    assert "212948" not in {invoice.id for invoice in page.invoices}


def _entry(field: str, value: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"invoice_id": 7, "total": 10, "currency": "CAD", "items": [{}]}
    if field == "quantity":
        entry["items"][0]["quantity"] = value
    else:
        entry[field] = value
    return entry


@pytest.mark.parametrize("field", ["invoice_id", "customer_id", "quantity"])
def test_a_boolean_where_a_number_belongs_is_unreadable_not_one(field: str) -> None:
    """JSON's `true` is a Python int: a lax `int` read it as invoice 1, customer 1 or a
    quantity of 1, where the amounts beside them refuse it."""
    with pytest.raises(ValidationError):
        tolerant(wire.Invoice, _entry(field, True), "Payfirma invoice")
    for number in (3, "3"):  # a number, or its digits (the usual drift), still reads
        read = tolerant(wire.Invoice, _entry(field, number), "Payfirma invoice")
        got = read.items[0].quantity if field == "quantity" else getattr(read, field)
        assert got == 3


def test_a_transaction_whose_id_is_a_boolean_is_unreadable() -> None:
    sale = {"lookup_id": "L1", "amount": 10, "currency": "CAD", "transaction_result": "APPROVED"}
    with pytest.raises(ValidationError):
        tolerant(wire.Transaction, sale | {"id": True}, "Payfirma transaction")
    assert tolerant(wire.Transaction, sale | {"id": 42}, "Payfirma transaction").id == 42


def test_a_transaction_for_custom_id_true_is_unreadable_not_invoice_one() -> None:
    sale = {"lookup_id": "L1", "amount": 10, "currency": "CAD", "transaction_result": "APPROVED"}
    with pytest.raises(ValidationError):
        tolerant(wire.Transaction, sale | {"custom_id": True}, "Payfirma transaction")
    for custom_id in (1, "1"):  # a number, or its digits, still reads
        read = tolerant(wire.Transaction, sale | {"custom_id": custom_id}, "Payfirma transaction")
        assert str(read.custom_id) == "1"


def test_a_token_whose_lifetime_is_a_boolean_is_unreadable_not_one_second() -> None:
    token = {"access_token": "t", "token_type": "Bearer"}
    with pytest.raises(ValidationError):
        wire.Token.model_validate(token | {"expires_in": True})
    assert wire.Token.model_validate(token | {"expires_in": 1200}).expires_in == 1200


def test_a_token_whose_merchant_id_is_a_boolean_is_unreadable_not_merchant_one() -> None:
    token = {"access_token": "t", "token_type": "Bearer"}
    with pytest.raises(ValidationError):
        wire.Token.model_validate(token | {"merchant_id": True})
    for merchant_id in (70017, "70017"):  # a number, or its digits, still reads
        read = wire.Token.model_validate(token | {"merchant_id": merchant_id})
        assert str(read.merchant_id) == "70017"
