"""Walking Invoice Search: filtered by PingProxies where its operators can say it, here otherwise.

One status goes to the API as `invoice_status=open`, every status but one as
`not_invoice_status=void`, a printed number as `like_invoice_number=PING-0101`. Other
mixes and free text are filtered here, after paging, which is why the cursor is an
offset into PingProxies' (status-filtered) list. A cap on pages keeps a server that
never stops saying "more" from looping us forever.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass

from bot.kit.paging import Progress
from bot.models import Invoice, InvoiceStatus
from bot.provider import ProviderError
from plugins.pingproxies import errors, wire
from plugins.pingproxies.api import Found, PingProxiesApi
from plugins.pingproxies.convert import STATUSES, to_invoice
from plugins.pingproxies.paging import has_more, position

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    page: int
    invoices: list[wire.Invoice | None]
    """In PingProxies' order; None where an invoice could not be read."""
    more: bool
    unreadable: list[str]


def status_filter(statuses: frozenset[InvoiceStatus]) -> dict[str, str]:
    """The search parameters that narrow the list to `statuses`, when the operators can."""
    wanted = {status.value for status in statuses}
    documented = set(STATUSES)
    if not wanted or not wanted <= documented:
        return {}
    if len(wanted) == 1:
        return {"invoice_status": wanted.pop()}
    rest = documented - wanted
    return {"not_invoice_status": rest.pop()} if len(rest) == 1 else {}


async def batches(
    api: PingProxiesApi,
    params: Mapping[str, str],
    per_page: int,
    first: int,
    max_pages: int,
    progress: Progress | None = None,
) -> AsyncIterator[Batch]:
    """The search page by page; stops when a page repeats what came before (a server that
    ignores `page` would otherwise be read `max_pages` times)."""
    page = first
    progress = progress or Progress("PingProxies")
    for _ in range(max_pages):
        found = await api.search({**params, "page": str(page), "per_page": str(per_page)})
        more = has_more(found.page, page, len(found.items))
        keys = [item.invoice_id if item else label for item, label in _keyed(found)]
        if not progress.advances(keys, f"page {page}"):
            return
        yield Batch(page, found.items, more, found.unreadable)
        if not more:
            return
        page += 1


def _keyed(found: Found) -> list[tuple[wire.Invoice | None, str]]:
    labels = iter(found.unreadable)
    return [(item, "" if item else next(labels, "")) for item in found.items]


def converted(item: wire.Invoice) -> Invoice:
    with errors.reading("invoice search"):
        return to_invoice(item)


async def collect(
    api: PingProxiesApi,
    params: Mapping[str, str],
    *,
    offset: int,
    per_page: int,
    limit: int,
    wanted: Callable[[Invoice], bool],
    max_pages: int,
) -> tuple[list[Invoice], int | None, list[str]]:
    """Up to `limit` wanted invoices from `offset` on, the offset to continue from, and
    the invoices passed over that could not be read."""
    first, skip = position(offset, per_page)
    found: list[Invoice] = []
    unreadable: list[str] = []
    resume: int | None = None
    progress = Progress("PingProxies")
    async with aclosing(batches(api, params, per_page, first, max_pages, progress)) as pages:
        async for batch in pages:
            start = (batch.page - 1) * per_page
            labels = iter(batch.unreadable)
            for index, item in enumerate(batch.invoices):
                label = next(labels, "") if item is None else None
                if batch.page == first and index < skip:
                    continue
                invoice = _converted_or_none(item, unreadable) if label is None else None
                if label is not None:
                    unreadable.append(label)
                if invoice is None or not wanted(invoice):
                    continue
                found.append(invoice)
                if len(found) == limit:
                    after = index + 1
                    rest = after < len(batch.invoices) or batch.more
                    return found, start + after if rest else None, unreadable
            resume = start + len(batch.invoices) if batch.more else None
    return found, None if progress.stalled else resume, unreadable


def _converted_or_none(item: wire.Invoice | None, unreadable: list[str]) -> Invoice | None:
    if item is None:
        return None
    try:
        return converted(item)
    except ProviderError as error:
        log.warning("PingProxies invoice %s could not be read: %s", item.invoice_number, error)
        unreadable.append(item.invoice_number)
        return None


async def find_number(
    api: PingProxiesApi, number: str, per_page: int, max_pages: int
) -> list[wire.Invoice]:
    """Every invoice printed with `number`, in any case: `like_` is PingProxies' case-blind
    match, and nothing says numbers are unique, so every page of matches is read.

    Without a `%` in it, the pattern matches the whole number; the comparison here makes
    sure a `%` someone typed cannot pass off another invoice as the one asked for.
    """
    wanted = number.casefold()
    params = {"like_invoice_number": number}
    found: dict[str, wire.Invoice] = {}
    async with aclosing(batches(api, params, per_page, 1, max_pages)) as pages:
        async for batch in pages:
            for item in batch.invoices:
                if item is not None and item.invoice_number.casefold() == wanted:
                    found.setdefault(item.invoice_id, item)
    return list(found.values())
