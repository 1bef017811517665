"""Invoices across every connected provider, fetched concurrently.

One slow or failing provider neither delays past the timeout nor hides the others:
its listing carries the error a person should read instead of invoices.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date

from bot.models import Invoice, InvoiceQuery, InvoiceStatus, today_utc
from bot.provider import Provider, ProviderError

log = logging.getLogger(__name__)

MAX_INVOICES_PER_PROVIDER = 2000


@dataclass
class Listing:
    """One provider's answer: its invoices, or why there are none to show."""

    provider: Provider
    invoices: list[Invoice] = field(default_factory=list)
    error: str | None = None
    truncated: bool = False


def matches(invoice: Invoice, query: InvoiceQuery, overdue_only: bool, today: date) -> bool:
    if query.statuses and invoice.status not in query.statuses:
        return False
    if overdue_only and not invoice.is_overdue(today):
        return False
    if query.text:
        needle = query.text.casefold()
        haystack = " ".join(filter(None, (invoice.number, invoice.description, invoice.payer)))
        if needle not in haystack.casefold():
            return False
    return True


def people_order(invoice: Invoice, today: date) -> tuple[int, date, str]:
    """Overdue first (oldest due first), then open by due date, then everything else."""
    rank = 0 if invoice.is_overdue(today) else 1 if invoice.status is InvoiceStatus.OPEN else 2
    return (rank, invoice.due or invoice.created or date.max, invoice.number)


async def _fetch(
    provider: Provider, query: InvoiceQuery, overdue_only: bool, today: date
) -> Listing:
    listing = Listing(provider)
    cursor: str | None = None
    try:
        while True:
            page = await provider.list_invoices(query.model_copy(update={"cursor": cursor}))
            listing.invoices.extend(
                i for i in page.invoices if matches(i, query, overdue_only, today)
            )
            cursor = page.next_cursor
            if cursor is None:
                break
            if len(listing.invoices) >= MAX_INVOICES_PER_PROVIDER:
                listing.truncated = True
                break
    except ProviderError as error:
        listing.error = error.message
    except Exception:
        log.exception("provider %s failed while listing invoices", provider.name)
        listing.error = f"{provider.title} failed unexpectedly; the error is in the bot's log."
    return listing


async def gather_invoices(
    providers: list[Provider],
    query: InvoiceQuery,
    *,
    overdue_only: bool = False,
    within: float = 20.0,
) -> list[Listing]:
    """Every provider's listing, in the order given, after at most `within` seconds."""
    today = today_utc()

    async def bounded(provider: Provider) -> Listing:
        try:
            return await asyncio.wait_for(_fetch(provider, query, overdue_only, today), within)
        except TimeoutError:
            return Listing(provider, error=f"{provider.title} did not answer within {within:g} s.")

    return list(await asyncio.gather(*(bounded(p) for p in providers)))


def merged(listings: list[Listing]) -> list[Invoice]:
    today = today_utc()
    invoices = [invoice for listing in listings for invoice in listing.invoices]
    return sorted(invoices, key=lambda invoice: people_order(invoice, today))
