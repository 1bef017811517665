"""Walking i3D's invoice list, which has no filters and no single-invoice GET.

Every lookup (a page for Slack, one invoice by id or number, the invoices of a
payment) reads the list in `RANGED-DATA` pages; a cap on pages keeps a server that
never stops saying "more" from looping us forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import aclosing
from dataclasses import dataclass

from bot.models import Invoice
from plugins.i3d import errors, wire
from plugins.i3d.api import I3DApi
from plugins.i3d.convert import to_invoice
from plugins.i3d.paging import has_more


@dataclass(frozen=True)
class Batch:
    start: int
    invoices: list[wire.Invoice]
    more: bool


async def batches(api: I3DApi, start: int, size: int, max_pages: int) -> AsyncIterator[Batch]:
    for _ in range(max_pages):
        answer = await api.invoices(start, size)
        more = has_more(start, size, len(answer.invoices), answer.total)
        yield Batch(start, answer.invoices, more)
        if not more:
            return
        start += len(answer.invoices)


def converted(item: wire.Invoice) -> Invoice:
    with errors.reading("invoice list"):
        return to_invoice(item)


async def collect(
    api: I3DApi,
    start: int,
    size: int,
    limit: int,
    wanted: Callable[[Invoice], bool],
    max_pages: int,
) -> tuple[list[Invoice], int | None]:
    """Up to `limit` wanted invoices from `start` on, and the offset to continue from."""
    found: list[Invoice] = []
    resume: int | None = None
    async with aclosing(batches(api, start, size, max_pages)) as pages:
        async for batch in pages:
            with errors.reading("invoice list"):  # once per batch: it is a hot loop
                invoices = [to_invoice(item) for item in batch.invoices]
            for index, invoice in enumerate(invoices):
                if not wanted(invoice):
                    continue
                found.append(invoice)
                if len(found) == limit:
                    after = index + 1
                    rest = after < len(batch.invoices) or batch.more
                    return found, batch.start + after if rest else None
            resume = batch.start + len(batch.invoices) if batch.more else None
    return found, resume


async def find(
    api: I3DApi, keys: Collection[str], size: int, max_pages: int, *, by_number: bool = False
) -> dict[str, wire.Invoice]:
    """The invoices whose id (or number, if asked) is in `keys`, keyed by what matched."""
    wanted = set(keys)
    found: dict[str, wire.Invoice] = {}
    async with aclosing(batches(api, 0, size, max_pages)) as pages:
        async for batch in pages:
            for item in batch.invoices:
                for key in (item.id, item.invoiceNumber) if by_number else (item.id,):
                    if key in wanted and key not in found:
                        found[key] = item
            if wanted <= found.keys():
                break
    return found
