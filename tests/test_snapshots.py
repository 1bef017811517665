"""The shared snapshot of a connection's invoices: many searches, one read; a settlement
or the end of `fresh` seconds makes the next list read again; memory stays bounded."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.invoices import Window, gather_invoices
from bot.models import InvoiceQuery, InvoiceStatus, Payment
from bot.snapshots import ForgetOnSettlement, Snapshots
from tests.test_paging import Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowLedger(Ledger):
    async def list_invoices(self, query: InvoiceQuery) -> Any:
        await asyncio.sleep(0.01)
        return await super().list_invoices(query)


async def test_twenty_different_searches_at_once_read_the_account_once() -> None:
    ledger = SlowLedger(400)
    snapshots = Snapshots()
    searches = [InvoiceQuery(text=f"{n:02d}") for n in range(20)]
    gathered = await asyncio.gather(
        *(gather_invoices([ledger], q, Window(10), snapshots=snapshots) for q in searches)
    )
    assert ledger.pages_served == 10  # 400 invoices in pages of 40, once for all twenty
    alone = await gather_invoices([Ledger(400)], searches[3], Window(10))
    assert gathered[3].page.invoices == alone.page.invoices
    assert gathered[3].page.total == alone.page.total


async def test_a_snapshot_is_read_again_once_stale_or_after_a_settlement() -> None:
    ledger = Ledger(80)
    clock = Clock()
    snapshots = Snapshots(fresh=15, clock=clock)
    open_only = InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN}))
    await gather_invoices([ledger], open_only, Window(10), snapshots=snapshots)
    await gather_invoices([ledger], InvoiceQuery(), Window(10), snapshots=snapshots)
    assert ledger.pages_served == 2
    clock.now = 16
    await gather_invoices([ledger], InvoiceQuery(), Window(10), snapshots=snapshots)
    assert ledger.pages_served == 4
    paid = Payment.model_construct(provider="ledger")
    ForgetOnSettlement(snapshots).payment_confirmed(paid, outbox=None, superseded=[])  # type: ignore[arg-type]
    await gather_invoices([ledger], InvoiceQuery(), Window(10), snapshots=snapshots)
    assert ledger.pages_served == 6


async def test_a_read_that_overlaps_a_settlement_is_not_kept() -> None:
    ledger = SlowLedger(40)
    snapshots = Snapshots()
    reading = asyncio.create_task(snapshots.read(ledger))
    await asyncio.sleep(0.005)  # the read is under way
    snapshots.forget("ledger")
    await reading
    await snapshots.read(ledger)
    assert ledger.pages_served == 2


async def test_memory_is_bounded_by_invoices_kept() -> None:
    snapshots = Snapshots(max_invoices=100)
    first, second = Ledger(60), Ledger(60)
    await snapshots.read(first)
    await snapshots.read(second)
    assert snapshots.size == 60  # the least recently used snapshot went
    await snapshots.read(second)
    assert second.pages_served == 2  # still kept
    await snapshots.read(first)
    assert first.pages_served == 4  # read again
