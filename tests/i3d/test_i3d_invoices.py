"""Listing and finding i3D.net invoices through the client, against the sandbox on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.models import InvoiceQuery, InvoiceStatus, Money, OutcomeStatus, PaymentCheck
from bot.provider import InvoiceNotFound, SeveralInvoices
from plugins.i3d import I3DCredentials, I3DProvider, listing
from plugins.i3d.api import PageBody, read_invoices
from plugins.i3d.convert import to_invoice
from plugins.i3d.listing import AHEAD, READ_PAGES, ReadPages
from plugins.i3d.sandbox import SandboxState, generate_invoices, sample_invoices
from plugins.i3d.sandbox.samples import invoice

NOW = 1_717_200_000  # 2024-06-01 00:00 UTC


async def test_sample_account_converts_to_what_a_person_expects(provider: I3DProvider) -> None:
    page = await provider.list_invoices(InvoiceQuery())
    by_number = {item.number: item for item in page.invoices}
    assert len(by_number) == 8 and page.next_cursor is None

    open_eur = by_number["INV-24-0101"]
    assert (open_eur.status, open_eur.overdue, open_eur.payable) == (
        InvoiceStatus.OPEN,
        False,
        True,
    )
    assert open_eur.amount_due == Money.of("121.00", "EUR")
    assert open_eur.total_excl_vat == Money.of("100.00", "EUR")

    overdue = by_number["INV-24-0087"]
    assert overdue.status is InvoiceStatus.OPEN and overdue.overdue

    paid = by_number["INV-24-0055"]
    assert paid.status is InvoiceStatus.PAID and not paid.payable
    assert paid.amount_due.is_zero() and paid.paid_at is not None

    credit = by_number["CRN-24-0003"]
    assert credit.is_credit and not credit.payable

    usd = by_number["INV-24-0102"]
    assert usd.amount_due == Money.of("1234.56", "USD") and usd.currency == "USD"
    assert by_number["INV-24-0103"].amount_due.amount == Decimal("9.99")


async def test_dates_are_unix_seconds(sandbox: SandboxState, provider: I3DProvider) -> None:
    sandbox.invoices.clear()
    sandbox.add_invoices(
        [invoice("1", "A-1", "x", 100, 100, created=NOW, due=NOW + 14 * 86_400, paid_at=NOW + 60)]
    )
    (item,) = (await provider.list_invoices(InvoiceQuery())).invoices
    assert (item.created, item.due) == (date(2024, 6, 1), date(2024, 6, 15))
    assert item.paid_at == datetime(2024, 6, 1, 0, 1, tzinfo=UTC)


async def test_paging_walks_every_invoice_once(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    sandbox.add_invoices(generate_invoices(55, now=NOW))
    numbers: list[str] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        page = await provider.list_invoices(InvoiceQuery(limit=20, cursor=cursor))
        numbers += [item.number for item in page.invoices]
        cursors.append(page.next_cursor)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(cursors) == 4  # 63 invoices in pages of 20
    assert len(numbers) == len(set(numbers)) == 63
    asked = [
        seen.header("RANGED-DATA")
        for seen in sandbox.requests
        if seen.path == "/v3/account/invoice"
    ]
    assert asked == [f"start={start},results=20" for start in (0, 20, 40, 60)]


async def test_status_and_text_filters_apply_client_side(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    sandbox.add_invoices(generate_invoices(40, now=NOW))
    paid = await provider.list_invoices(
        InvoiceQuery(statuses=frozenset({InvoiceStatus.PAID}), limit=5)
    )
    assert len(paid.invoices) == 5
    assert {item.status for item in paid.invoices} == {InvoiceStatus.PAID}
    rest = await provider.list_invoices(
        InvoiceQuery(statuses=frozenset({InvoiceStatus.PAID}), cursor=paid.next_cursor)
    )
    assert len(paid.invoices) + len(rest.invoices) == 1 + 40 // 5 and rest.next_cursor is None

    found = await provider.list_invoices(InvoiceQuery(text="ams-01"))
    assert sorted(item.number for item in found.invoices) == ["INV-24-0087", "INV-24-0101"]
    assert all("?" not in (seen.raw_path or "") for seen in sandbox.requests)


async def test_undocumented_payment_status_is_unknown_and_logged(
    sandbox: SandboxState, provider: I3DProvider, caplog: pytest.LogCaptureFixture
) -> None:
    odd = invoice("77", "ODD-1", "Partially refunded", 500, 500, created=NOW, due=NOW)
    inconsistent = invoice("78", "ODD-2", "Says paid, owes", 500, 500, created=NOW, due=NOW)
    sandbox.add_invoices(
        [
            odd.model_copy(update={"paymentStatus": 3}),
            inconsistent.model_copy(update={"paymentStatus": 1, "paymentDate": NOW}),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="plugins.i3d"):
        first = await provider.get_invoice("ODD-1")
        second = await provider.get_invoice("78")
    assert first.status is second.status is InvoiceStatus.UNKNOWN
    assert not first.payable and not second.payable
    assert "undocumented paymentStatus 3" in caplog.text
    assert "paymentStatus 1 but 500 cents remaining" in caplog.text


async def test_a_payment_whose_status_still_says_unpaid_is_not_paid(
    sandbox: SandboxState, provider: I3DProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Only v2 gives `paymentStatus` meanings, and there 0 is unpaid: nothing remaining
    and a payment date do not outvote it, so the payment stays waiting."""
    item = invoice("79", "ODD-3", "Status says unpaid", 500, 500, created=NOW, due=NOW)
    sandbox.add_invoices([item.model_copy(update={"paymentDate": NOW, "remainingAmount": "0"})])
    check = PaymentCheck(invoice_ids=("79",), amount=Money.of("5.00", "EUR"), reference="p1")
    with caplog.at_level(logging.WARNING, logger="plugins.i3d"):
        outcome = await provider.check_payment(check)
        listed = await provider.get_invoice("79")
    assert outcome.status is OutcomeStatus.PENDING
    assert listed.status is InvoiceStatus.UNKNOWN and not listed.payable
    assert "paymentStatus 0 but nothing remaining" in caplog.text


async def test_get_invoice_by_id_or_number_across_pages(
    sandbox: SandboxState, make_provider: Callable[..., I3DProvider]
) -> None:
    sandbox.add_invoices(generate_invoices(250, now=NOW, first_id=700_000))
    provider = make_provider(page_size=50)
    by_id = await provider.get_invoice("700240")
    by_number = await provider.get_invoice("LOAD-700240")
    assert by_id == by_number and by_id.number == "LOAD-700240"
    reads = sum(seen.path == "/v3/account/invoice" for seen in sandbox.requests)
    assert 2 * 5 <= reads <= 2 * (5 + AHEAD)  # five pages each, and a few asked ahead


async def test_two_invoices_by_one_number_are_both_named_and_neither_picked(
    sandbox: SandboxState, make_provider: Callable[..., I3DProvider]
) -> None:
    """Nothing promises unique numbers: a second one a page later is not missed."""
    sandbox.add_invoices(generate_invoices(120, now=NOW, first_id=700_000))
    twin = invoice("800001", "LOAD-700010", "Same number", 500, 500, created=NOW, due=NOW)
    sandbox.add_invoices([twin])
    provider = make_provider(page_size=50)
    with pytest.raises(SeveralInvoices) as raised:
        await provider.get_invoice("LOAD-700010")
    assert sorted(raised.value.ids) == ["700010", "800001"]
    assert (await provider.get_invoice("800001")).description == "Same number"


async def test_unknown_invoice_says_so(provider: I3DProvider) -> None:
    with pytest.raises(InvoiceNotFound) as raised:
        await provider.get_invoice("INV-99-9999")
    assert str(raised.value) == (
        "i3D.net has no invoice with id or number 'INV-99-9999' for this API key."
    )


@pytest.mark.parametrize(
    ("header", "pages"),
    [
        (None, 3),  # no range answered: full pages mean "maybe more" (an empty third page)
        ("start={start},results={count},total=20", 2),  # the total ends it without a probe
    ],
)
async def test_paging_without_the_sandbox(
    aiohttp_server: Any, http: aiohttp.ClientSession, header: str | None, pages: int
) -> None:
    """A bare server that may or may not answer with RANGED-DATA: both are handled."""
    items = [item.to_json() for item in generate_invoices(20, now=NOW)]
    hits: list[str] = []

    async def listing(request: web.Request) -> web.Response:
        start, results = (
            int(part.split("=")[1]) for part in request.headers["RANGED-DATA"].split(",")
        )
        hits.append(request.headers["RANGED-DATA"])
        page = items[start : start + results]
        extra = {"RANGED-DATA": header.format(start=start, count=len(page))} if header else {}
        return web.json_response(page, headers=extra)

    app = web.Application()
    app.router.add_get("/v3/account/invoice", listing)
    server = await aiohttp_server(app, host="127.0.0.1")
    credentials = I3DCredentials(api_key="k", base_url=str(server.make_url("")))
    provider = I3DProvider(credentials, http)
    seen, cursor = [], None
    for _ in range(pages):
        page = await provider.list_invoices(InvoiceQuery(limit=10, cursor=cursor))
        seen += [item.id for item in page.invoices]
        cursor = page.next_cursor
    assert cursor is None and len(set(seen)) == 20 and len(hits) == pages


def test_sample_data_covers_every_case() -> None:
    items = sample_invoices(NOW)
    assert {item.currency for item in items} == {"EUR", "USD"}
    assert any(item.isCredit == 1 for item in items)
    assert any(item.paymentStatus == 1 for item in items)
    assert any(item.paymentStatus == 0 and item.dueDate < NOW for item in items)
    assert any(item.paymentStatus == 0 and item.dueDate > NOW for item in items)


@pytest.mark.parametrize(
    ("payment_status", "remaining", "payment_date", "expected"),
    [
        (0, "12100", 0, InvoiceStatus.OPEN),
        (0, "6050", NOW, InvoiceStatus.OPEN),  # partly paid: still open, half due
        (0, "0", NOW, InvoiceStatus.UNKNOWN),  # the status says unpaid, the money paid
        (0, "0", 0, InvoiceStatus.OPEN),  # nothing due, but no payment either: not paid
        (1, "0", NOW, InvoiceStatus.PAID),
        (1, "6050", NOW, InvoiceStatus.UNKNOWN),
        (2, "0", NOW, InvoiceStatus.UNKNOWN),
    ],
)
def test_status_needs_i3d_and_the_money_to_agree(
    payment_status: int, remaining: str, payment_date: int, expected: InvoiceStatus
) -> None:
    item = invoice("5", "S-5", "x", 12_100, 10_000, created=NOW, due=NOW).model_copy(
        update={
            "paymentStatus": payment_status,
            "remainingAmount": remaining,
            "paymentDate": payment_date,
        }
    )
    converted = to_invoice(item)
    assert converted.status is expected
    assert converted.amount_due == Money.from_minor(remaining, "EUR")
    assert converted.payable is (expected is InvoiceStatus.OPEN and remaining != "0")


async def test_a_long_walk_asks_for_pages_ahead(
    sandbox: SandboxState, make_provider: Callable[..., I3DProvider]
) -> None:
    """Reading a whole account (a lookup that finds nothing) overlaps i3D's latency."""
    sandbox.add_invoices(generate_invoices(494, now=NOW, first_id=700_000))
    # A latency well above the walk's own CPU, so a loaded machine cannot hide the overlap:
    # ten pages in a row take 1.5 s, pages asked three ahead about 0.6 s.
    sandbox.latency = 0.15
    provider = make_provider(page_size=50)
    began = time.monotonic()
    with pytest.raises(InvoiceNotFound):
        await provider.get_invoice("INV-99-9999")
    took = time.monotonic() - began
    assert took < 10 * 0.15 * 0.7, f"ten pages one after another would take 1.5 s, took {took}"


async def test_a_payment_check_reads_from_where_its_invoice_was_seen(
    sandbox: SandboxState, make_provider: Callable[..., I3DProvider]
) -> None:
    """i3D has no single-invoice GET: in a big account the landing and the poller would
    read the whole list for every check. They start near where the list showed it, and
    fall back to the whole walk when the list has moved."""
    sandbox.add_invoices(generate_invoices(990, now=NOW, first_id=700_000))
    provider = make_provider(page_size=50)
    pages: list[int] = []
    real = provider.api.invoices

    async def counted(start: int, size: int) -> Any:
        pages.append(start)
        return await real(start, size)

    provider.api.invoices = counted  # type: ignore[method-assign]
    last = max(sandbox.invoices)
    check = PaymentCheck(
        invoice_ids=(last,), amount=Money.of(Decimal("12.10"), "EUR"), reference="r"
    )
    first = await provider.check_payment(check)  # nothing seen yet: the whole walk
    assert len(pages) >= 20
    pages.clear()
    assert (await provider.check_payment(check)).status is first.status
    assert len(pages) <= 2, pages
    for gone in sorted(sandbox.invoices)[:200]:  # four pages fewer ahead of it
        del sandbox.invoices[gone]
    pages.clear()
    assert (await provider.check_payment(check)).status is first.status
    assert 0 in pages, "the hint was stale: walked again from the start"
    pages.clear()
    assert (await provider.check_payment(check)).status is first.status
    assert len(pages) <= 2, "and the new place is remembered"


async def test_a_page_read_before_is_taken_as_converted_then(
    sandbox: SandboxState, provider: I3DProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big account is read again whenever its snapshot expires, nearly always unchanged:
    equal bytes are equal invoices, so they are not validated and converted again."""
    sandbox.add_invoices(generate_invoices(40, now=NOW))
    converted: list[str] = []

    def counted(item: Any) -> Any:
        converted.append(item.id)
        return to_invoice(item)

    monkeypatch.setattr(listing, "to_invoice", counted)
    first = await provider.list_invoices(InvoiceQuery(limit=100))
    assert len(converted) == len(first.invoices) == 48
    converted.clear()
    again = await provider.list_invoices(InvoiceQuery(limit=100))
    assert converted == [] and again.invoices == first.invoices
    assert all(a is b for a, b in zip(again.invoices, first.invoices, strict=True))


async def test_a_page_that_changed_is_read_afresh(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    sandbox.add_invoices(generate_invoices(10, now=NOW))
    before = {item.number: item for item in (await provider.list_invoices(InvoiceQuery())).invoices}
    assert before["LOAD-900000"].status is InvoiceStatus.OPEN
    item = sandbox.invoices["900000"]
    sandbox.invoices["900000"] = item.model_copy(
        update={"paymentStatus": 1, "paymentDate": NOW, "remainingAmount": "0"}
    )
    after = {item.number: item for item in (await provider.list_invoices(InvoiceQuery())).invoices}
    assert after["LOAD-900000"].status is InvoiceStatus.PAID
    assert after["LOAD-900000"].amount_due.is_zero()


async def test_a_page_with_an_invoice_that_could_not_be_read_is_never_kept(
    sandbox: SandboxState, provider: I3DProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its unreadable invoice must be said again on every list, not lost to a kept page."""
    sandbox.add_invoices(generate_invoices(10, now=NOW))

    def broken(item: Any) -> Any:
        if item.id == "900003":
            raise ValueError("odd")
        return to_invoice(item)

    monkeypatch.setattr(listing, "to_invoice", broken)
    for _ in range(2):
        page = await provider.list_invoices(InvoiceQuery())
        assert page.unreadable == ["LOAD-900003"] and len(page.invoices) == 17
    assert READ_PAGES.size == 0


def test_read_pages_are_bounded_least_recently_used_first_out() -> None:
    pages = ReadPages(max_invoices=5)
    made = [to_invoice(item) for item in generate_invoices(6, now=NOW)]
    a, b, c = pages.digest(b"a"), pages.digest(b"b"), pages.digest(b"c")
    pages.keep(a, made[:2])
    pages.keep(b, made[2:4])
    assert pages.get(a) is not None  # a is now the most recently used
    pages.keep(c, made[4:6])
    assert (pages.get(a), pages.get(b), pages.size) == (made[:2], None, 4)
    pages.keep(pages.digest(b"whole"), made)  # more than the bound: never kept
    assert pages.size == 4


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the sandbox sends it
async def test_the_offset_to_go_on_from_counts_the_entries_set_aside(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    """An entry that could not be read still holds its place in i3D's list: the walk
    goes on after the last invoice taken, so none is listed twice."""
    sandbox.invoices.clear()
    sandbox.add_invoices(generate_invoices(7, now=NOW))
    odd = sandbox.invoices["900000"]
    sandbox.invoices["900000"] = odd.model_copy(update={"creationDate": "soon"})
    numbers: list[str] = []
    unreadable: list[str] = []
    start: int | None = 0
    while start is not None:  # two invoices at a time from pages of four
        found, start, odd_ones = await listing.collect(
            provider.api, start, 4, 2, lambda _: True, max_pages=10
        )
        numbers += [item.number for item in found]
        unreadable += odd_ones
    assert numbers == [f"LOAD-90000{n}" for n in range(1, 7)]
    assert unreadable == ["LOAD-900000"]


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the sandbox sends it
async def test_entries_set_aside_after_the_last_invoice_make_no_next_page(
    sandbox: SandboxState, provider: I3DProvider
) -> None:
    sandbox.invoices.clear()
    sandbox.add_invoices(generate_invoices(4, now=NOW))
    odd = sandbox.invoices["900003"]
    sandbox.invoices["900003"] = odd.model_copy(update={"creationDate": "soon"})
    found, resume, unreadable = await listing.collect(
        provider.api, 0, 4, 3, lambda _: True, max_pages=10
    )
    assert [item.number for item in found] == ["LOAD-900000", "LOAD-900001", "LOAD-900002"]
    assert resume is None and unreadable == ["LOAD-900003"]


def test_a_nul_escaped_in_the_list_is_read_as_the_pay_answers_read_it() -> None:
    """A page read the quick way (validated straight from its bytes) kept an escaped NUL
    that the kit's reading turns into U+FFFD everywhere else: the list then named the
    invoice otherwise than its payment did."""
    items = [item.to_json() for item in sample_invoices(int(time.time()))]
    items[0]["invoiceNumber"] = "INV-24-0101\x00"
    batch = read_invoices(PageBody(json.dumps(items).encode(), None))
    assert batch.invoices[0].invoiceNumber == "INV-24-0101\ufffd"
    assert len(batch.invoices) == len(items)
