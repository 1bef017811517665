"""Invoices across every connected provider, fetched concurrently, one page kept.

One slow or failing provider neither delays past the timeout nor hides the others:
its listing carries the error a person should read instead of invoices. Each provider's
pages stream through a `Selection`, so memory stays the size of a page however many
invoices an account has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.models import Invoice, InvoiceQuery, InvoiceStatus, Money, today_utc
from bot.provider import Direction, Provider, ProviderError
from bot.selection import Page, Selection, Side, SortKey, Window, people_order, sort_key
from bot.snapshots import Snapshots, once

__all__ = [
    "Gathered",
    "Listing",
    "Page",
    "Side",
    "SortKey",
    "Window",
    "bridged_since",
    "covered",
    "gather_invoices",
    "gather_pages",
    "matches",
    "paid_here",
    "people_order",
    "sort_key",
]

log = logging.getLogger(__name__)


@dataclass
class Listing:
    """One provider's answer: how many of its invoices match, or why none are shown."""

    provider: Provider
    count: int = 0
    error: str | None = None
    unreadable: list[str] = field(default_factory=list)
    """Invoices it sent that could not be read (numbers, ids, or '')."""


@dataclass(frozen=True)
class Gathered:
    """Every provider's listing, in the order asked for, and the page across all of them."""

    listings: list[Listing]
    page: Page


PAID_BRIDGE = timedelta(hours=1)
"""How long a settlement here outweighs a provider that still lists the invoice open:
longer than such a provider takes to book a payment it confirmed (minutes, for crypto at
PingProxies). After it the provider's word wins: an invoice it lists open again (a
chargeback, a reversed payment) is open."""


def bridged_since(provider: Provider) -> datetime | None:
    """From when a settlement here still lists `provider`'s open invoice as paid (see
    `PAID_BRIDGE`); None, always, where the invoice never shows a payment page's money
    (Payfirma): its "open" says nothing of that money."""
    if not provider.capabilities.invoice_shows_page_payments:
        return None
    return datetime.now(UTC) - PAID_BRIDGE


def paid_here(invoice: Invoice) -> Invoice:
    """An invoice the provider still lists as open that a payment through the bot settled
    (its transaction confirmed it) for all it asks now: listed as paid, with nothing due.
    Some providers never mark an invoice their payment page was paid on; a reminder to a
    customer who paid must not be offered. See `covered`."""
    zero = Money.zero(invoice.amount_due.currency)
    return invoice.model_copy(update={"status": InvoiceStatus.PAID, "amount_due": zero})


def covered(invoice: Invoice, paid: Money | None) -> bool:
    """Whether the provider still asks exactly what a settling payment paid for `invoice`:
    it has not booked the payment yet, or never will. An invoice whose amount changed
    since (grown before a charge of the old amount, reopened for more, booked in part)
    is listed as the provider has it."""
    due = invoice.amount_due
    return paid is not None and paid.currency == due.currency and paid.amount == due.amount


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


async def _feed_page(
    provider: Provider,
    query: InvoiceQuery,
    overdue_only: bool,
    selections: list[Selection],
    cursor: str | None,
    unreadable: list[str],
    settled: Mapping[str, Money | None] | None,
    previous: dict[str, str],
) -> tuple[str | None, dict[str, str]]:
    """Feed one provider page into `selections`; the page is let go when this returns.
    `previous`: the invoices of the page before (see `once`), which a moved boundary
    sends again; only those are remembered, so memory stays the size of a page (and the
    first of two invoices under one id has gone into `selections` by the time the second
    comes: the snapshot, which every list in Slack reads, sets both aside). Answers the
    next cursor and this page's invoices."""
    page = await provider.list_invoices(query.model_copy(update={"cursor": cursor}))
    unreadable += page.unreadable
    mine: dict[str, str] = {}
    fresh = once(provider, page.invoices, [previous, mine], unreadable)
    _select(provider, fresh, query, overdue_only, selections, settled)
    return page.next_cursor, mine


def _select(
    provider: Provider,
    invoices: Iterable[Invoice],
    query: InvoiceQuery,
    overdue_only: bool,
    selections: list[Selection],
    settled: Mapping[str, Money | None] | None = None,
) -> None:
    """Offer each matching invoice to every selection; a whole-account read (the usual
    list) skips the per-invoice match, the hot path of a big account. `settled`: the
    invoices a payment through the bot settled, by id, with what it paid for each (see
    `paid_here` and `covered`)."""
    today = selections[0].today
    name = provider.name
    chosen = [  # the registration says whose it is
        invoice if invoice.provider == name else invoice.model_copy(update={"provider": name})
        for invoice in invoices
    ]
    if settled:
        chosen = [
            paid_here(invoice)
            if invoice.id in settled
            and invoice.status is InvoiceStatus.OPEN
            and covered(invoice, settled[invoice.id])
            else invoice
            for invoice in chosen
        ]
    if not query.unfiltered or overdue_only:
        chosen = [invoice for invoice in chosen if matches(invoice, query, overdue_only, today)]
    for selection in selections:
        selection.add_all(chosen)


async def _fetch(
    provider: Provider,
    query: InvoiceQuery,
    overdue_only: bool,
    selections: list[Selection],
    snapshots: Snapshots | None = None,
    settled: Mapping[str, Money | None] | None = None,
    pages: list[int] | None = None,
) -> Listing:
    """Stream every page of one provider into its own `selections` (one per window);
    with `snapshots`, from the connection's shared snapshot instead. `pages` counts the
    pages read here, for a caller that gives up before the last."""
    cursor: str | None = None
    unreadable: list[str] = []
    try:
        if snapshots is not None:
            snapshot = await snapshots.read(provider)
            _select(provider, snapshot.invoices, query, overdue_only, selections, settled)
            return Listing(
                provider, count=selections[0].total, unreadable=list(snapshot.unreadable)
            )
        previous: dict[str, str] = {}
        while True:
            cursor, previous = await _feed_page(
                provider, query, overdue_only, selections, cursor, unreadable, settled, previous
            )
            if pages is not None:
                pages[0] += 1
            if cursor is None:
                return Listing(provider, count=selections[0].total, unreadable=unreadable)
    except ProviderError as error:
        return Listing(provider, error=error.message)
    except Exception:
        log.exception("provider %s failed while listing invoices", provider.name)
        return Listing(
            provider, error=f"{provider.title} failed unexpectedly; the error is in the bot's log."
        )


async def gather_invoices(
    providers: list[Provider],
    query: InvoiceQuery,
    window: Window,
    *,
    overdue_only: bool = False,
    within: float = 20.0,
    snapshots: Snapshots | None = None,
    settled: Mapping[str, Mapping[str, Money | None]] | None = None,
    today: date | None = None,
) -> Gathered:
    """Every provider's listing and the `window`'s page, after at most `within` seconds.

    Each provider streams into a selection of its own, which joins the others only once
    that provider has answered completely: one failing halfway shows its error and none
    of its invoices, so the counts, sums and the next page's boundary stay consistent.
    """
    listings, (page,) = await gather_pages(
        providers,
        query,
        [window],
        overdue_only=overdue_only,
        within=within,
        snapshots=snapshots,
        settled=settled,
        today=today,
    )
    return Gathered(listings, page)


async def gather_pages(
    providers: list[Provider],
    query: InvoiceQuery,
    windows: list[Window],
    *,
    overdue_only: bool = False,
    within: float = 20.0,
    snapshots: Snapshots | None = None,
    settled: Mapping[str, Mapping[str, Money | None]] | None = None,
    today: date | None = None,
) -> tuple[list[Listing], list[Page]]:
    """`gather_invoices` for several windows at once: each provider is asked only once.
    `settled`: by provider name, the invoices a payment through the bot settled; `today`:
    the workspace's day overdue counts from (UTC's if not given)."""
    today = today or today_utc()
    collecting = frozenset(
        provider.name
        for provider in providers
        if provider.capabilities.direction is Direction.RECEIVABLE
    )
    selections = [
        [Selection(window, today, collecting=collecting) for window in windows] for _ in providers
    ]

    async def bounded(provider: Provider, mine: list[Selection]) -> Listing:
        pages = [0]
        try:
            return await asyncio.wait_for(
                _fetch(
                    provider,
                    query,
                    overdue_only,
                    mine,
                    snapshots,
                    (settled or {}).get(provider.name),
                    pages,
                ),
                within,
            )
        except TimeoutError:
            if pages[0] or (snapshots is not None and snapshots.pages_read(provider)):
                # It answers, page after page: a huge account, not a provider down. The
                # shared read goes on, and a list asked for while it does joins it.
                return Listing(
                    provider,
                    error=f"{provider.title} sent part of its list, but not all of it in "
                    f"{within:g} s; its invoices are not shown. Try again in a moment.",
                )
            return Listing(
                provider,
                error=f"{provider.title} is slow to answer right now (nothing in {within:g} s); "
                "its invoices are not shown. Try again in a minute.",
            )

    listings = list(await asyncio.gather(*map(bounded, providers, selections)))
    pages = []
    for index, window in enumerate(windows):
        everything = Selection(window, today, collecting=collecting)
        for listing, mine in zip(listings, selections, strict=True):
            if listing.error is None:
                everything.absorb(mine[index])
        pages.append(everything.page())
    return listings, pages
