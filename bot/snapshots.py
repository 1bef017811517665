"""A short-lived snapshot of each connection's invoices, shared by every list.

Providers cannot sort or search the way people ask (overdue first, any words), so every
list reads a connection's whole account. Twenty people with twenty searches on a
10,000-invoice account would read it twenty times; instead the first read is kept for
`fresh` seconds and every search, filter, page and App Home is answered from it (reads
of one connection that overlap share one fetch). A settlement forgets its provider's
snapshots at once, so nothing the bot settled shows as open; a payment made elsewhere
shows within `fresh` seconds.

Memory is bounded by `max_invoices` across all snapshots (least recently used first
out). A parsed invoice with its amounts is about 1.1 KiB of Python objects (measured
for i3D.net's, `python -m bench` holds it under 2 KiB), so the default of 50,000
invoices holds at most about 55 MiB, 100 MiB at worst.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot import hookimpl
from bot.hookspecs import Outbox
from bot.models import Invoice, InvoiceQuery, Payment
from bot.provider import Provider
from bot.singleflight import SingleFlight

log = logging.getLogger(__name__)


def once(
    provider: Provider,
    invoices: Iterable[Invoice],
    seen: list[dict[str, str]],
    unreadable: list[str],
    clashed: set[str] | None = None,
) -> list[Invoice]:
    """`invoices` without any whose id came before, in them or in `seen` (dicts of id to
    number; the last one is added to).

    A provider that pages by offset sends an invoice twice when its list moves between
    two reads (an invoice added ahead of a page boundary pushes the last of one page to
    the top of the next): the same invoice, listed, counted and summed once. Another
    invoice under an id already taken cannot be told apart from the first by a button or
    a payment: it is set aside as unreadable, as the provider's lists show those, and its
    id goes into `clashed`, so that a caller holding the whole list sets the first aside
    too (its button would open whichever of the two the provider finds by that id).
    """
    kept, mine, earlier = [], seen[-1], seen[:-1]
    for invoice in invoices:
        key = invoice.id
        number = mine.get(key)
        for known in earlier:
            if number is not None:
                break
            number = known.get(key)
        if number is None:
            mine[key] = invoice.number
            kept.append(invoice)
        elif number != invoice.number:
            log.warning(
                "%s sent invoice %s under id %s, which invoice %s has; it is not listed",
                provider.title,
                invoice.number,
                invoice.id,
                number,
            )
            unreadable.append(invoice.number)
            if clashed is not None:
                clashed.add(key)
    return kept


@dataclass(frozen=True)
class Snapshot:
    invoices: tuple[Invoice, ...]
    unreadable: tuple[str, ...]
    taken: float
    """When its read began: a list is fresh `fresh` seconds from then."""
    ended: float | None = None
    """When its read ended (see `Snapshots.just_read`)."""


class Snapshots:
    def __init__(
        self,
        fresh: float = 15.0,
        max_invoices: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh = fresh
        self.max_invoices = max_invoices
        self.clock = clock
        self._kept: OrderedDict[int, tuple[Provider, Snapshot]] = OrderedDict()
        self._flight: SingleFlight[Snapshot] = SingleFlight()
        self._forgotten: dict[str, int] = {}  # per provider name: how often it was forgotten
        self._pages: dict[int, int] = {}  # per read under way: the pages it has had so far

    async def read(self, provider: Provider) -> Snapshot:
        """Every invoice of this connection, from a fresh snapshot or read now.

        Raises what `list_invoices` raises; a failed read keeps nothing.
        """
        kept = self._fresh(provider)
        if kept is not None:
            self._kept.move_to_end(id(provider))
            return kept
        return await self._flight.run(id(provider), lambda: self._take(provider))

    def ready(self, provider: Provider) -> bool:
        """Whether `read` would answer without a read of its own: a fresh snapshot is
        kept, or a read is under way to join."""
        return self._fresh(provider) is not None or id(provider) in self._flight

    def just_read(self, provider: Provider) -> Snapshot | None:
        """The list kept whose read ended less than `fresh` seconds ago, for a lookup by
        number: a huge account's read takes longer than that, so a list fresh from its
        start only was stale as it ended, and a lookup could never be answered from it."""
        kept = self._kept.get(id(provider))
        if kept is None or kept[0] is not provider or kept[1].ended is None:
            return None
        return kept[1] if self.clock() - kept[1].ended < self.fresh else None

    def _fresh(self, provider: Provider) -> Snapshot | None:
        kept = self._kept.get(id(provider))
        if kept and kept[0] is provider and self.clock() - kept[1].taken < self.fresh:
            return kept[1]
        return None

    def pages_read(self, provider: Provider) -> int:
        """Pages the read of this connection under way has had so far (0: none, or no read
        under way): a list cut short while they arrive is long, not unanswered."""
        return self._pages.get(id(provider), 0)

    async def _take(self, provider: Provider) -> Snapshot:
        self._pages[id(provider)] = 0
        try:
            return await self._read(provider)
        finally:
            del self._pages[id(provider)]

    async def _read(self, provider: Provider) -> Snapshot:
        began = self.clock()
        generation = self._forgotten.get(provider.name, 0)
        invoices: list[Invoice] = []
        unreadable: list[str] = []
        seen: dict[str, str] = {}
        clashed: set[str] = set()
        cursor: str | None = None
        while True:
            page = await provider.list_invoices(InvoiceQuery(cursor=cursor, limit=100))
            self._pages[id(provider)] += 1
            unreadable += page.unreadable
            for invoice in once(provider, page.invoices, [seen], unreadable, clashed):
                if invoice.provider != provider.name:  # the registration says whose it is
                    invoice = invoice.model_copy(update={"provider": provider.name})
                invoices.append(invoice)
            cursor = page.next_cursor
            if cursor is None:
                break
        if clashed:
            unreadable += [i.number for i in invoices if i.id in clashed]
            invoices = [i for i in invoices if i.id not in clashed]
        snapshot = Snapshot(tuple(invoices), tuple(unreadable), began, self.clock())
        unchanged = self._forgotten.get(provider.name, 0) == generation  # nothing settled
        if self.fresh > 0 and unchanged:
            self._keep(provider, snapshot)
        return snapshot

    def _keep(self, provider: Provider, snapshot: Snapshot) -> None:
        self._kept[id(provider)] = (provider, snapshot)
        self._kept.move_to_end(id(provider))
        while self._kept and self.size > self.max_invoices:
            self._kept.popitem(last=False)

    @property
    def size(self) -> int:
        return sum(len(snapshot.invoices) for _, snapshot in self._kept.values())

    def forget(self, provider_name: str) -> None:
        """Drop every snapshot of this provider (any workspace): something was settled.
        A read under way now is used by those waiting for it, but not kept."""
        self._forgotten[provider_name] = self._forgotten.get(provider_name, 0) + 1
        for key, (provider, _) in list(self._kept.items()):
            if provider.name == provider_name:
                del self._kept[key]


class ForgetOnSettlement:
    """Registered with the plugin manager: a settlement or an ended attempt changes
    what the provider's list says, so its snapshots go."""

    def __init__(self, snapshots: Snapshots) -> None:
        self.snapshots = snapshots

    @hookimpl
    def payment_confirmed(
        self, payment: Payment, outbox: Outbox, superseded: list[Payment]
    ) -> None:
        self.snapshots.forget(payment.provider)

    @hookimpl
    def payment_ended(self, payment: Payment, outbox: Outbox) -> None:
        self.snapshots.forget(payment.provider)
