"""An invoice a provider lists twice in one walk of its pages (offset paging moves under
the walk when an invoice is added between two reads, so the last of one page comes again
first on the next) is one invoice: listed once, counted once, summed once."""

from __future__ import annotations

import pytest

from bot.invoices import Window, gather_invoices, once
from bot.models import InvoicePage, InvoiceQuery
from bot.snapshots import Snapshots
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


def test_the_first_of_each_id_is_kept_in_order() -> None:
    first, second, third = made("ledger", 1), made("ledger", 2), made("ledger", 3)
    later = second.model_copy(update={"description": "the same id again"})
    before = {third.id}
    assert once([first, second, later, third], before) == [first, second]
    assert before == {first.id, second.id, third.id}
