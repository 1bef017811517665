"""An invoice a provider lists twice in one walk of its pages (offset paging moves under
the walk when an invoice is added between two reads, so the last of one page comes again
first on the next) is one invoice: listed once, counted once, summed once. Two
invoices under one id are set aside as unreadable, never given a button."""

from __future__ import annotations

import pytest

from bot.invoices import Window, gather_invoices
from bot.models import InvoicePage, InvoiceQuery
from bot.snapshots import Snapshots, once
from tests.test_paging import Ledger, made


class Shifting(Ledger):
    """Pages whose boundary moved by one between reads: each page after the first starts
    with the invoice that ended the page before."""

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        start = int(query.cursor or 0)
        end = min(start + self.per_page, self.count)
        self.pages_served += 1
        return InvoicePage(
            invoices=[made(self.name, n) for n in range(max(0, start - 1), end)],
            next_cursor=str(end) if end < self.count else None,
        )


class Clashing(Ledger):
    """Invoice 7 comes again on the last page under the id of invoice 8, on the page
    before (as far back as a read that keeps one page in memory remembers)."""

    async def list_invoices(self, query: InvoiceQuery) -> InvoicePage:
        page = await super().list_invoices(query)
        if page.next_cursor is None:
            clash = made(self.name, 7).model_copy(update={"id": f"{self.name}-8"})
            page = page.model_copy(update={"invoices": [*page.invoices, clash]})
        return page


@pytest.mark.parametrize("shared", [False, True], ids=["read now", "snapshot"])
async def test_an_invoice_repeated_across_pages_is_listed_and_summed_once(shared: bool) -> None:
    shifting = Shifting(35, per_page=10)
    snapshots = Snapshots() if shared else None
    got = await gather_invoices([shifting], InvoiceQuery(), Window(100), snapshots=snapshots)
    expected = await gather_invoices([Ledger(35, per_page=10)], InvoiceQuery(), Window(100))
    assert shifting.pages_served == 4  # three boundaries: three invoices sent twice
    ids = [invoice.id for invoice in got.page.invoices]
    assert len(ids) == len(set(ids)) == 35
    assert got.page.total == expected.page.total == 35
    assert got.page.to_pay == expected.page.to_pay
    assert got.listings[0].unreadable == []


async def test_two_invoices_under_one_id_are_both_set_aside_as_unreadable() -> None:
    """Neither can have a button: the provider finds only one of them by that id."""
    got = await gather_invoices([Clashing(12, per_page=5)], InvoiceQuery(), Window(100),
                                snapshots=Snapshots())  # fmt: skip
    assert got.page.total == 11
    assert "ledger-8" not in [invoice.id for invoice in got.page.invoices]
    assert got.listings[0].unreadable == [made("ledger", 7).number, made("ledger", 8).number]


async def test_read_now_the_second_of_two_under_one_id_is_set_aside() -> None:
    got = await gather_invoices([Clashing(12, per_page=5)], InvoiceQuery(), Window(100))
    assert got.page.total == 12
    assert got.listings[0].unreadable == [made("ledger", 7).number]


def test_the_first_of_each_id_is_kept_in_order() -> None:
    first, second, third = made("ledger", 1), made("ledger", 2), made("ledger", 3)
    again = second.model_copy(update={"description": "read again a moment later"})
    before, mine = {third.id: third.number}, dict[str, str]()
    unreadable: list[str] = []
    assert once(Ledger(0), [first, second, again, third], [before, mine], unreadable) == [
        first,
        second,
    ]
    assert mine == {first.id: first.number, second.id: second.number}
    assert unreadable == []
