"""Listing and finding PingProxies invoices through the client, against the sandbox on loopback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from bot.models import InvoiceQuery, InvoiceStatus, Money
from bot.provider import InvoiceNotFound, SeveralInvoices
from plugins.pingproxies import PingProxiesProvider
from plugins.pingproxies.convert import to_invoice
from plugins.pingproxies.paging import BadCursor
from plugins.pingproxies.sandbox import SandboxState, generate_invoices, sample_invoices
from plugins.pingproxies.sandbox.samples import invoice
from tests.pingproxies.conftest import SEARCH

NOW = 1_717_200_000  # 2024-06-01 00:00 UTC


def searches(sandbox: SandboxState) -> list[dict[str, str]]:
    return [dict(parse_qsl(seen.query)) for seen in sandbox.requests if seen.path == SEARCH]


async def test_sample_account_converts_to_what_a_person_expects(
    provider: PingProxiesProvider,
) -> None:
    page = await provider.list_invoices(InvoiceQuery())
    by_number = {item.number: item for item in page.invoices}
    assert len(by_number) == 6 and page.next_cursor is None

    current = by_number["PING-0101"]
    assert (current.id, current.status, current.overdue, current.payable) == (
        "inv_sbx0101",
        InvoiceStatus.OPEN,
        False,
        True,
    )
    assert current.amount_due == current.total_incl_vat == Money.of("129.00", "USD")
    assert current.url == "https://invoice.stripe.com/i/acct_sandbox/inv_sbx0101"

    overdue = by_number["PING-0087"]
    assert overdue.status is InvoiceStatus.OPEN and overdue.overdue and overdue.payable

    paid = by_number["PING-0064"]
    assert paid.status is InvoiceStatus.PAID and not paid.payable
    assert paid.amount_due.is_zero() and paid.total_incl_vat == Money.of("75.50", "USD")
    assert paid.paid_at is not None

    assert by_number["PING-0050"].status is InvoiceStatus.VOID
    assert by_number["PING-0110"].status is InvoiceStatus.DRAFT
    assert not by_number["PING-0050"].payable and not by_number["PING-0110"].payable

    small = by_number["PING-0102"]
    assert small.amount_due == Money.of("19.99", "USD")
    assert small.total_excl_vat == Money.of("16.52", "USD")


def test_datetimes_are_utc_and_cents_exact() -> None:
    item = invoice(
        "inv_1", "A-1", "x", 9007199254740993, created=NOW, due=NOW + 14 * 86_400, status="paid"
    )
    item = item.model_copy(update={"invoice_paid_datetime": "2024-06-01T00:01:00Z"})
    converted = to_invoice(item)
    assert (converted.created, converted.due) == (date(2024, 6, 1), date(2024, 6, 15))
    assert converted.paid_at == datetime(2024, 6, 1, 0, 1, tzinfo=UTC)
    assert converted.total_incl_vat.amount == Decimal("90071992547409.93")  # 2**53 + 1 cents


@pytest.mark.parametrize(
    ("cents", "amount"), [(1, "0.01"), (10, "0.10"), (123456, "1234.56"), (0, "0.00")]
)
def test_integer_cents_become_exact_money(cents: int, amount: str) -> None:
    converted = to_invoice(invoice("inv_1", "A-1", "x", cents, created=NOW, due=NOW))
    assert converted.amount_due == Money.of(amount, "USD")
    assert converted.amount_due.amount == Decimal(amount)


async def test_search_walks_every_page_once(
    sandbox: SandboxState, make_provider: Callable[..., PingProxiesProvider]
) -> None:
    sandbox.add_invoices(generate_invoices(55, now=NOW))
    provider = make_provider(page_size=20)
    numbers: list[str] = []
    cursor = None
    calls = 0
    while True:
        page = await provider.list_invoices(InvoiceQuery(limit=25, cursor=cursor))
        numbers += [item.number for item in page.invoices]
        cursor, calls = page.next_cursor, calls + 1
        if cursor is None:
            break
    assert calls == 3  # 61 invoices in Slack pages of 25
    assert len(numbers) == len(set(numbers)) == 61
    asked = [(query["page"], query["per_page"]) for query in searches(sandbox)]
    # pages 1-2, then 2-3 (the second Slack page starts inside API page 2), then 3-4;
    # the total count ends the walk after page 4 without asking for an empty page 5
    assert asked == [("1", "20"), ("2", "20"), ("2", "20"), ("3", "20"), ("3", "20"), ("4", "20")]


async def test_unknown_total_reads_until_a_short_or_empty_page(
    sandbox: SandboxState, make_provider: Callable[..., PingProxiesProvider]
) -> None:
    sandbox.hide_total = True
    sandbox.add_invoices(generate_invoices(34, now=NOW))  # 40 in all: two full pages of 20
    found = await make_provider(page_size=20).list_invoices(InvoiceQuery(limit=100))
    assert len(found.invoices) == 40 and found.next_cursor is None
    assert [query["page"] for query in searches(sandbox)] == ["1", "2", "3"]


async def test_one_status_is_filtered_by_the_api(
    sandbox: SandboxState, provider: PingProxiesProvider
) -> None:
    sandbox.add_invoices(generate_invoices(40, now=NOW))
    page = await provider.list_invoices(InvoiceQuery(statuses=frozenset({InvoiceStatus.PAID})))
    assert len(page.invoices) == 1 + 40 // 5
    assert {item.status for item in page.invoices} == {InvoiceStatus.PAID}
    assert searches(sandbox)[-1] == {"invoice_status": "paid", "page": "1", "per_page": "100"}


async def test_all_but_one_status_uses_the_not_operator(
    sandbox: SandboxState, provider: PingProxiesProvider
) -> None:
    wanted = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.DRAFT})
    page = await provider.list_invoices(InvoiceQuery(statuses=wanted))
    assert sorted(item.number for item in page.invoices) == [
        "PING-0064",
        "PING-0087",
        "PING-0101",
        "PING-0102",
        "PING-0110",
    ]
    assert searches(sandbox)[-1]["not_invoice_status"] == "void"


async def test_two_statuses_and_text_are_filtered_here(
    sandbox: SandboxState, provider: PingProxiesProvider
) -> None:
    wanted = frozenset({InvoiceStatus.VOID, InvoiceStatus.DRAFT})
    page = await provider.list_invoices(InvoiceQuery(statuses=wanted))
    assert sorted(item.number for item in page.invoices) == ["PING-0050", "PING-0110"]
    found = await provider.list_invoices(InvoiceQuery(text="residential"))
    assert sorted(item.number for item in found.invoices) == ["PING-0101", "PING-0102", "PING-0110"]
    assert all(set(query) == {"page", "per_page"} for query in searches(sandbox))


async def test_get_invoice_by_id_or_printed_number(
    sandbox: SandboxState, make_provider: Callable[..., PingProxiesProvider]
) -> None:
    sandbox.add_invoices(generate_invoices(250, now=NOW, first=700_000))
    provider = make_provider(page_size=50)
    by_id = await provider.get_invoice("inv_load700240")
    by_number = await provider.get_invoice("load-700240")
    assert by_id == by_number and by_id.number == "LOAD-700240"
    assert searches(sandbox) == [
        {"like_invoice_number": "load-700240", "page": "1", "per_page": "50"}
    ]


async def test_two_invoices_by_one_number_are_both_named_and_neither_picked(
    sandbox: SandboxState, provider: PingProxiesProvider
) -> None:
    sandbox.add_invoices(
        [
            invoice("inv_a1", "PING-0500", "First", 500, created=NOW, due=NOW),
            invoice("inv_b2", "ping-0500", "Second", 700, created=NOW, due=NOW),
        ]
    )
    with pytest.raises(SeveralInvoices) as raised:
        await provider.get_invoice("PING-0500")
    assert sorted(raised.value.ids) == ["inv_a1", "inv_b2"]
    assert (await provider.get_invoice("inv_b2")).description == "Second"


async def test_unknown_invoice_says_so(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    for key in ("inv_nothere", "PING-9999"):
        with pytest.raises(InvoiceNotFound) as raised:
            await provider.get_invoice(key)
        assert str(raised.value) == (
            f"PingProxies has no invoice with id or number {key!r} for this account."
        )
    assert sandbox.count("GET", "/1.0/private/user/invoice/retrieve/inv_nothere") == 1


async def test_undocumented_status_is_unknown_and_logged(
    sandbox: SandboxState, provider: PingProxiesProvider, caplog: pytest.LogCaptureFixture
) -> None:
    odd = invoice("inv_odd1", "ODD-1", "x", 500, created=NOW, due=NOW, status="uncollectible")
    says_paid = invoice("inv_odd2", "ODD-2", "x", 500, created=NOW, due=NOW).model_copy(
        update={"invoice_status": "paid"}
    )
    sandbox.add_invoices([odd, says_paid])
    with caplog.at_level(logging.WARNING, logger="plugins.pingproxies"):
        first = await provider.get_invoice("ODD-1")
        second = await provider.get_invoice("inv_odd2")
    assert first.status is second.status is InvoiceStatus.UNKNOWN
    assert not first.payable and not second.payable
    assert "undocumented status 'uncollectible'" in caplog.text
    assert "ODD-2 says paid but 500 cents remain" in caplog.text


async def test_a_foreign_cursor_is_refused(provider: PingProxiesProvider) -> None:
    with pytest.raises(BadCursor, match="not one PingProxies' plugin made"):
        await provider.list_invoices(InvoiceQuery(cursor="start:5"))


def test_sample_data_covers_every_case() -> None:
    items = sample_invoices(NOW)
    statuses = [item.invoice_status for item in items]
    assert set(statuses) == {"open", "paid", "void", "draft"}
    assert all(item.invoice_id.startswith("inv_") for item in items)
    assert {item.invoice_currency for item in items} == {"usd"}
    opened = [item for item in items if item.invoice_status == "open"]
    due = [item.invoice_due_datetime or "" for item in opened]
    today = datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert any(when < today for when in due) and any(when > today for when in due)


async def test_an_unreadable_invoice_on_a_full_page_does_not_end_an_uncounted_list(
    sandbox: SandboxState, make_provider: Callable[..., PingProxiesProvider]
) -> None:
    """Without a total only a short page ends the list: a full page counts the invoice
    it could not read, so the pages after it are still read (and that invoice named)."""
    sandbox.hide_total = True
    sandbox.add_invoices(generate_invoices(34, now=NOW))  # 40 in all: two full pages of 20
    odd = next(iter(sandbox.invoices.values()))
    sandbox.drift[odd.invoice_id] = {"invoice_total": "a lot"}
    found = await make_provider(page_size=20).list_invoices(InvoiceQuery(limit=100))
    assert len(found.invoices) == 39 and found.next_cursor is None
    assert found.unreadable == [odd.invoice_number]
    assert [query["page"] for query in searches(sandbox)] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "stamp",
    ["01/06/2024 12:00", "0001-01-01T00:00:00+05:00"],  # another form; a placeholder
)
async def test_a_paid_invoice_whose_paid_time_cannot_be_read_is_listed_paid(
    sandbox: SandboxState,
    provider: PingProxiesProvider,
    caplog: pytest.LogCaptureFixture,
    stamp: str,
) -> None:
    """Its status and the cents remaining say paid; the time (its field and form are our
    guess) is only when, so an odd one is logged and the invoice listed without it."""
    sandbox.drift["inv_sbx0064"] = {"invoice_paid_datetime": stamp}
    with caplog.at_level(logging.WARNING, logger="plugins.pingproxies"):
        page = await provider.list_invoices(InvoiceQuery())
    assert page.unreadable == []
    paid = {item.number: item for item in page.invoices}["PING-0064"]
    assert paid.status is InvoiceStatus.PAID and paid.paid_at is None
    assert caplog.text.count("unreadable invoice_paid_datetime") == 1
    assert "PING-0064" in caplog.text


async def test_an_odd_paid_time_does_not_make_an_invoice_with_cents_left_paid(
    sandbox: SandboxState, provider: PingProxiesProvider
) -> None:
    odd = {"invoice_paid_datetime": "yesterday", "invoice_amount_remaining": 500}
    sandbox.drift["inv_sbx0064"] = odd
    found = await provider.get_invoice("inv_sbx0064")
    assert found.status is InvoiceStatus.UNKNOWN and found.paid_at is None
    assert not found.payable
