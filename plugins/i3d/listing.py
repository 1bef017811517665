"""Walking i3D's invoice list, which has no filters and no single-invoice GET.

Every lookup (a page for Slack, one invoice by id or number, the invoices of a
payment) reads the list in `RANGED-DATA` pages; a cap on pages keeps a server that
never stops saying "more" from looping us forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field

from bot.kit.paging import Progress, has_more
from bot.models import Invoice
from bot.provider import ProviderError
from plugins.i3d import errors, wire
from plugins.i3d.api import I3DApi, InvoiceBatch, read_invoices
from plugins.i3d.convert import to_invoice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    start: int
    invoices: list[wire.Invoice]
    more: bool
    unreadable: list[str] = field(default_factory=list)
    received: int = 0
    known: list[Invoice] | None = None
    """The page converted before (`ReadPages`), in which case `invoices` is empty."""
    digest: bytes = b""
    """The page's digest, when the walk keeps read pages."""
    places: list[int] | None = None
    """Where on the page each of `invoices` was, when some entries were set aside."""


class Whereabouts:
    """Where in the list each invoice was last seen (its page's offset), so a lookup by
    id starts near there instead of at page one: checking a payment in a big account
    (the landing, then the poller every few seconds) reads a page, not the whole list.
    A wrong hint (the list moved) only costs the full walk it saves. Bounded: at most
    50,000 ids a connection, about 150 bytes each with the id's text (under 8 MiB)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._at: OrderedDict[str, int] = OrderedDict()

    def note(self, start: int, ids: Iterable[str]) -> None:
        at = self._at
        for key in ids:
            at[key] = start
        while len(at) > self.size:
            at.popitem(last=False)

    def start_for(self, ids: Collection[str], size: int) -> int:
        """Where to start a walk that finds every one of `ids`: a page before the lowest
        offset seen (invoices removed ahead of them move them back), else 0."""
        seen = [self._at.get(key) for key in ids]
        if not seen or None in seen:
            return 0
        return max(0, min(s for s in seen if s is not None) - size)


class ReadPages:
    """Pages of the invoice list already converted, by a digest of their bytes.

    Every list reads a connection's whole account (i3D cannot sort or filter), so a
    big account is read again each time its snapshot has expired, nearly always
    unchanged. A page whose bytes are the same as a page read before is the same
    invoices: they are taken as converted then, and the page is neither validated
    nor converted again (a third of the CPU of reading it; `python -m bench`). Any
    change to a page (a payment, a new invoice moving the list along) changes its
    digest, so it is read afresh. Only pages read whole are kept. An odd invoice on a
    kept page (an undocumented status) is logged when its page is first read, not again.

    Shared by every i3D.net connection of the process (equal bytes are equal
    invoices, whoever asked) and bounded by `max_invoices` across them, least recently
    used first out: at about 1.1 KiB an invoice, at most about 55 MiB, less while the
    snapshots (`bot.snapshots`) hold the same invoices.
    """

    def __init__(self, max_invoices: int = 50_000) -> None:
        self.max_invoices = max_invoices
        self._pages: OrderedDict[bytes, list[Invoice]] = OrderedDict()
        self._count = 0

    @staticmethod
    def digest(body: bytes) -> bytes:
        return hashlib.blake2b(body, digest_size=16).digest()

    def get(self, digest: bytes) -> list[Invoice] | None:
        page = self._pages.get(digest)
        if page is not None:
            self._pages.move_to_end(digest)
        return page

    def keep(self, digest: bytes, invoices: list[Invoice]) -> None:
        if digest in self._pages or len(invoices) > self.max_invoices:
            return
        self._pages[digest] = invoices
        self._count += len(invoices)
        while self._count > self.max_invoices:
            _, dropped = self._pages.popitem(last=False)
            self._count -= len(dropped)

    @property
    def size(self) -> int:
        """Invoices kept, across pages."""
        return self._count

    def clear(self) -> None:
        self._pages.clear()
        self._count = 0


READ_PAGES = ReadPages()
"""The process's read pages (see `ReadPages`)."""


AHEAD = 3
"""Pages asked for ahead of the walk, at most: polite to i3D, and enough to hide its
latency when a whole account is read (a big account is 100 pages)."""


@dataclass(frozen=True)
class _Answer:
    """A page as the walk uses it: read now, or converted before (`known`)."""

    batch: InvoiceBatch
    known: list[Invoice] | None = None
    digest: bytes = b""


async def _answer(api: I3DApi, start: int, size: int, pages: ReadPages | None) -> _Answer:
    if pages is None:
        return _Answer(await api.invoices(start, size))
    body = await api.invoice_page(start, size)
    digest = pages.digest(body.body)
    known = pages.get(digest)
    if known is not None:
        return _Answer(InvoiceBatch([], body.total, [], len(known)), known, digest)
    return _Answer(read_invoices(body), None, digest)


async def batches(
    api: I3DApi,
    start: int,
    size: int,
    max_pages: int,
    progress: Progress | None = None,
    seen: Whereabouts | None = None,
    pages: ReadPages | None = None,
) -> AsyncIterator[Batch]:
    """The list page by page; stops when a page repeats the one before or brings nothing
    new (a server that ignores the range would otherwise be read `max_pages` times).

    Once the walk goes past its first page and i3D has said how many invoices there are,
    the next `AHEAD` pages are asked for while this one is used; a walk that stops early
    (a lookup that found its invoice) cancels them. With `pages`, a page converted
    before comes as `Batch.known` instead of being read again.
    """
    progress = progress or Progress("i3D.net")
    ahead: dict[int, asyncio.Task[_Answer]] = {}
    try:
        for walked in range(max_pages):
            task = ahead.pop(start, None)
            read = await task if task else await _answer(api, start, size, pages)
            answer = read.batch
            items = answer.invoices if read.known is None else read.known
            received = answer.received or len(items)
            more = has_more(start, size, received, answer.total)
            ids = [item.id for item in items]
            if seen is not None:
                seen.note(start, ids)
            if not progress.advances(ids + answer.unreadable, f"offset {start}"):
                return
            if walked and more and answer.total is not None and received == size:
                for step in range(1, AHEAD + 1):
                    following = start + step * size
                    if following < answer.total and following not in ahead:
                        fetch = _answer(api, following, size, pages)
                        ahead[following] = asyncio.create_task(fetch)
            yield Batch(
                start,
                answer.invoices,
                more,
                answer.unreadable,
                received,
                read.known,
                read.digest,
                answer.places,
            )
            if not more or received == 0:
                return
            start += received
    finally:
        for task in ahead.values():
            task.cancel()
        await asyncio.gather(*ahead.values(), return_exceptions=True)


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
    seen: Whereabouts | None = None,
    read_pages: ReadPages | None = None,
) -> tuple[list[Invoice], int | None, list[str]]:
    """Up to `limit` wanted invoices from `start` on, the offset to continue from, and
    the invoices on the pages read that could not be read (by number or id)."""
    found: list[Invoice] = []
    unreadable: list[str] = []
    resume: int | None = None
    progress = Progress("i3D.net")
    walk = batches(api, start, size, max_pages, progress, seen, read_pages)
    async with aclosing(walk) as pages:
        async for batch in pages:
            unreadable += batch.unreadable
            invoices: list[Invoice] | list[Invoice | None]
            if batch.known is not None:
                invoices = batch.known
            else:
                invoices, every = _convert_each(batch.invoices, unreadable)
                whole = every and not batch.unreadable and len(invoices) == batch.received
                if read_pages is not None and whole:
                    read_pages.keep(batch.digest, [i for i in invoices if i is not None])
            for index, invoice in enumerate(invoices):
                if invoice is None or not wanted(invoice):
                    continue
                found.append(invoice)
                if len(found) == limit:
                    # The offset past it counts the entries set aside before it too;
                    # only an invoice still to come makes a next page.
                    after = (batch.places[index] if batch.places else index) + 1
                    rest = batch.more or any(i is not None for i in invoices[index + 1 :])
                    return found, batch.start + after if rest else None, unreadable
            resume = batch.start + batch.received if batch.more else None
    return found, None if progress.stalled else resume, unreadable


def _convert_each(
    items: list[wire.Invoice], unreadable: list[str]
) -> tuple[list[Invoice] | list[Invoice | None], bool]:
    """Each invoice converted on its own; one that does not convert is set aside (None
    in its place). Says whether every one converted: asking the list instead (`None in`)
    would compare None with each invoice, a pydantic `__eq__` call apiece."""
    try:
        with errors.reading("invoice list"):  # the usual case: the whole page at once
            return [to_invoice(item) for item in items], True
    except ProviderError:
        pass
    converted: list[Invoice | None] = []
    every = True
    for item in items:
        try:
            with errors.reading("invoice list"):
                converted.append(to_invoice(item))
        except ProviderError as error:
            log.warning("i3D.net invoice %s could not be read: %s", item.invoiceNumber, error)
            unreadable.append(item.invoiceNumber or item.id)
            converted.append(None)
            every = False
    return converted, every


async def find(
    api: I3DApi,
    keys: Collection[str],
    size: int,
    max_pages: int,
    *,
    seen: Whereabouts | None = None,
) -> dict[str, wire.Invoice]:
    """The invoices whose id is in `keys`, keyed by id; from where `seen` last saw them,
    then from the start for any still missing."""
    start = seen.start_for(keys, size) if seen is not None else 0
    found = await _walk(api, set(keys), start, size, max_pages, seen)
    if start and not set(keys) <= found.keys():
        missing = set(keys) - found.keys()
        found |= await _walk(api, missing, 0, size, max_pages, seen)
    return found


async def going_by(
    api: I3DApi, key: str, size: int, max_pages: int, seen: Whereabouts | None = None
) -> list[wire.Invoice]:
    """Every invoice whose id or number is `key`: i3D does not promise unique numbers, so
    the whole list is read, and a second invoice by that number is not missed."""
    found: dict[str, wire.Invoice] = {}
    async with aclosing(batches(api, 0, size, max_pages, seen=seen)) as pages:
        async for batch in pages:
            for item in batch.invoices:
                if key in (item.id, item.invoiceNumber):
                    found.setdefault(item.id, item)
    return list(found.values())


async def _walk(
    api: I3DApi,
    wanted: set[str],
    start: int,
    size: int,
    max_pages: int,
    seen: Whereabouts | None,
) -> dict[str, wire.Invoice]:
    found: dict[str, wire.Invoice] = {}
    async with aclosing(batches(api, start, size, max_pages, seen=seen)) as pages:
        async for batch in pages:
            for item in batch.invoices:
                if item.id in wanted and item.id not in found:
                    found[item.id] = item
            if wanted <= found.keys():
                break
    return found
