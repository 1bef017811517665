"""Which invoices make one page, chosen while the providers' pages stream past.

Providers cannot sort, so putting invoices in people order needs every invoice once; but
only the page itself, a few counts and the sums due need to be kept, never the whole
list. A page is a window next to a boundary key (keyset paging): the invoices right
after the key a Next button carries, or right before the one a Previous button carries.
Keys are total and unique, so paging neither repeats nor skips an invoice even when two
invoices share a due date and a number; and they are tuples of plain values, so a
button value can carry one.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.models import Invoice, InvoiceStatus, Money

SortKey = tuple[int, int, str, str, str]
"""(rank, day as a date ordinal, number, provider name, invoice id): see `sort_key`."""

KEY_NUMBER_CHARS = 256  # so that a key always fits in a Slack button value (2,000 chars)
KEY_ID_CHARS = 256  # likewise: ids are the providers', and nothing bounds them
_OPEN = InvoiceStatus.OPEN
_LAST_DAY = date.max


def people_order(invoice: Invoice, today: date) -> tuple[int, date, str]:
    """Overdue first (oldest due first), then open by due date, then everything else."""
    rank = 0 if invoice.is_overdue(today) else 1 if invoice.status is InvoiceStatus.OPEN else 2
    return (rank, invoice.due or invoice.created or date.max, invoice.number)


def sort_key(invoice: Invoice, today: date) -> SortKey:
    """`people_order`, made total and unique by the provider and id, in plain values.

    The number is cut to `KEY_NUMBER_CHARS` and the id to `KEY_ID_CHARS`: ties among
    absurdly long numbers then break on provider and id, and the key stays small enough
    to ride in a button (two ids alike in their first 256 characters, with the same due
    day and number, would share a key).
    """
    rank = 0 if invoice.is_overdue(today) else 1 if invoice.status is _OPEN else 2
    day = (invoice.due or invoice.created or _LAST_DAY).toordinal()
    number, key_id = invoice.number[:KEY_NUMBER_CHARS], invoice.id[:KEY_ID_CHARS]
    return (rank, day, number, invoice.provider, key_id)


class Side(StrEnum):
    """Where a page lies from its boundary key."""

    AFTER = "after"
    BEFORE = "before"


@dataclass(frozen=True)
class Window:
    """The `size` invoices right after `key` (no key: from the first), or right before it."""

    size: int
    side: Side = Side.AFTER
    key: SortKey | None = None

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a page holds at least one invoice")
        if self.side is Side.BEFORE and self.key is None:
            raise ValueError("a page before needs a key to be before")


@dataclass(frozen=True)
class Totals:
    """Sums still open in one direction, per currency (the most urgent currency first),
    and how many of those invoices are overdue."""

    amounts: dict[str, Money]
    overdue: int = 0
    count: int = 0
    credits: dict[str, Money] = field(default_factory=dict)
    """Open credit notes in this direction, per currency: taken off when paying."""
    late: dict[str, Money] = field(default_factory=dict)
    """What of `amounts` is overdue, per currency."""

    def format(self) -> str:
        """ "€7,986.00 (less €24.20 in credit notes) + $1,633.54": each credit beside the
        amount it is taken off, so that no reader takes it off another currency."""
        parts = []
        for currency, money in self.amounts.items():
            credit = self.credits.get(currency)
            less = f" (less {credit.format()} in credit notes)" if credit else ""
            parts.append(f"{money.format()}{less}")
        text = " + ".join(parts)
        apart = [money for currency, money in self.credits.items() if currency not in self.amounts]
        if apart:  # nothing owed in their currency to take them off
            credits = f"{' + '.join(money.format() for money in apart)} in credit notes"
            text = f"{text} (and {credits})" if text else f"nothing ({credits})"
        return text

    def overdue_words(self) -> str:
        """ "2 overdue", or with several currencies "2 overdue: €121.00": after
        "€484.00 + $1,955.27" a bare count would read as the last amount's; "" if none."""
        if not self.overdue:
            return ""
        if len(self.amounts) < 2:
            return f"{self.overdue} overdue"
        return f"{self.overdue} overdue: {' + '.join(m.format() for m in self.late.values())}"


class _Sums:
    def __init__(self) -> None:
        self.amounts: dict[str, Decimal] = {}
        self.first: dict[str, SortKey] = {}  # currencies are listed most urgent first
        self.overdue = 0
        self.count = 0
        self.credits: dict[str, Decimal] = {}
        self.late: dict[str, Decimal] = {}

    def credit(self, currency: str, amount: Decimal) -> None:
        self.credits[currency] = self.credits.get(currency, Decimal(0)) + amount

    def add(self, currency: str, amount: Decimal, key: SortKey, overdue: bool) -> None:
        amounts = self.amounts
        if currency in amounts:  # once per invoice due: no default built, no `min` call
            amounts[currency] += amount
            if key < self.first[currency]:
                self.first[currency] = key
        else:
            amounts[currency] = amount
            self.first[currency] = key
        self.count += 1
        if overdue:
            self.overdue += 1
            self.late[currency] = self.late.get(currency, Decimal(0)) + amount

    def absorb(self, other: _Sums) -> None:
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount
            first = self.first.get(currency)
            theirs = other.first[currency]
            self.first[currency] = theirs if first is None else min(first, theirs)
        self.overdue += other.overdue
        self.count += other.count
        for currency, amount in other.late.items():
            self.late[currency] = self.late.get(currency, Decimal(0)) + amount
        for currency, amount in other.credits.items():
            self.credit(currency, amount)

    def totals(self) -> Totals:
        ordered = sorted(self.amounts, key=self.first.__getitem__)
        amounts = {currency: Money.of(self.amounts[currency], currency) for currency in ordered}
        credits = {
            currency: Money.of(amount, currency) for currency, amount in self.credits.items()
        }
        late = {currency: Money.of(self.late[currency], currency) for currency in ordered
                if currency in self.late}  # fmt: skip
        return Totals(amounts, self.overdue, self.count, credits, late)


@dataclass(frozen=True)
class Page:
    """One page of the ordered matches, and enough about the rest to label and sum it."""

    invoices: list[Invoice]
    keys: list[SortKey]
    total: int
    before: int
    to_pay: Totals
    """What the team still owes on every match it pays (payables)."""
    to_collect: Totals
    """What the team's customers still owe on every match (receivables)."""
    credit_notes: int = 0
    """How many of the `total` matches are credit notes, not bills."""

    @property
    def after(self) -> int:
        return self.total - self.before - len(self.invoices)

    @property
    def first_key(self) -> SortKey | None:
        return self.keys[0] if self.keys else None

    @property
    def last_key(self) -> SortKey | None:
        return self.keys[-1] if self.keys else None


class _Entry:
    """A heap entry ordered by key alone (an invoice listed twice must not compare)."""

    __slots__ = ("invoice", "key")

    def __init__(self, key: SortKey, invoice: Invoice) -> None:
        self.key = key
        self.invoice = invoice

    def __lt__(self, other: _Entry) -> bool:
        return self.key < other.key


class _Reversed(_Entry):
    __slots__ = ()

    def __lt__(self, other: _Entry) -> bool:
        return self.key > other.key


class _Nearest:
    """The `size` smallest keys seen (or the largest): a heap whose top is the one to drop."""

    def __init__(self, size: int, *, largest: bool) -> None:
        self.size = size
        self.largest = largest
        self.heap: list[_Entry] = []

    def offer(self, key: SortKey, invoice: Invoice) -> None:
        entry = _Entry if self.largest else _Reversed
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, entry(key, invoice))
        elif (key > self.heap[0].key) if self.largest else (key < self.heap[0].key):
            heapq.heapreplace(self.heap, entry(key, invoice))

    def ascending(self) -> list[_Entry]:
        return sorted(self.heap, key=lambda entry: entry.key)


class Selection:
    """Finds a window's page in one pass, holding at most twice the page size of invoices.

    Besides the page, it keeps the nearest invoices on the other side of the key: they
    fill a page that a stale button would leave short (Next after the last invoice was
    paid shows the last page; Previous with too few left before shows the first page).
    """

    def __init__(
        self, window: Window, today: date, *, collecting: frozenset[str] = frozenset()
    ) -> None:
        """`collecting` names the providers whose invoices are owed to the team."""
        self.window = window
        self.today = today
        self.collecting = collecting
        self.total = 0
        self.credit_notes = 0
        self.ahead = 0  # matches before the boundary: <= key for a page after, < key before
        after = window.side is Side.AFTER
        self._page = _Nearest(window.size, largest=not after)
        self._spare = _Nearest(window.size, largest=after)
        self._to_pay = _Sums()
        self._to_collect = _Sums()

    def add(self, invoice: Invoice) -> None:
        self.add_all((invoice,))

    def add_all(self, invoices: Iterable[Invoice]) -> None:
        """Offer each invoice in turn: `sort_key` (written out here, and kept equal to it
        by the tests), the sums and the page in one loop whose lookups are made once,
        since a big account's list runs it for every invoice. Most invoices fall outside
        a full page, and are let go after one comparison."""
        today, collecting = self.today, self.collecting
        bound, after = self.window.key, self.window.side is Side.AFTER
        page, spare = self._page, self._spare
        to_pay, to_collect = self._to_pay, self._to_collect
        total = credit_notes = ahead = 0
        try:
            for invoice in invoices:
                status, due, is_credit = invoice.status, invoice.due, invoice.is_credit
                is_open = status is _OPEN
                overdue = is_open and not is_credit and due is not None and due < today
                rank = 0 if overdue else 1 if is_open else 2
                day = (due or invoice.created or _LAST_DAY).toordinal()
                number, key_id = invoice.number[:KEY_NUMBER_CHARS], invoice.id[:KEY_ID_CHARS]
                key = (rank, day, number, invoice.provider, key_id)
                total += 1
                if is_open:  # what `payable` and an open credit note add to the sums
                    amount = invoice.amount_due.amount
                    if not is_credit and amount > 0:
                        sums = to_collect if invoice.provider in collecting else to_pay
                        sums.add(invoice.amount_due.currency, amount, key, overdue)
                    elif is_credit:
                        sums = to_collect if invoice.provider in collecting else to_pay
                        sums.credit(invoice.amount_due.currency, invoice.credit_value.amount)
                if is_credit:
                    credit_notes += 1
                if bound is None:
                    nearest = page
                elif after:
                    nearest = page if key > bound else spare
                    ahead += nearest is spare
                else:
                    nearest = page if key < bound else spare
                    ahead += nearest is page
                heap = nearest.heap
                if len(heap) == nearest.size and (
                    key <= heap[0].key if nearest.largest else key >= heap[0].key
                ):
                    continue  # not nearer than the page's farthest: the usual case
                nearest.offer(key, invoice)
        finally:  # counted as far as the loop went, with the sums and the page
            self.total += total
            self.credit_notes += credit_notes
            self.ahead += ahead

    def absorb(self, other: Selection) -> None:
        """Take in what another selection of the same window saw (one whole provider)."""
        if other.window != self.window:
            raise ValueError("only selections of the same window combine")
        self.total += other.total
        self.credit_notes += other.credit_notes
        self.ahead += other.ahead
        for mine, theirs in ((self._page, other._page), (self._spare, other._spare)):
            for entry in theirs.heap:
                mine.offer(entry.key, entry.invoice)
        self._to_pay.absorb(other._to_pay)
        self._to_collect.absorb(other._to_collect)

    def page(self) -> Page:
        size = self.window.size
        shown = self._page.ascending()
        before = self.ahead
        if self.window.side is Side.BEFORE:
            before = self.ahead - len(shown)
            if self.ahead < size:  # fewer left before the key than a page: the first page
                shown += self._spare.ascending()[: size - len(shown)]
        elif not shown and self.ahead:  # nothing left after the key: the last page
            last = self.ahead - (self.ahead - 1) // size * size
            shown = self._spare.ascending()[-last:]
            before = self.ahead - last
        return Page(
            invoices=[entry.invoice for entry in shown],
            keys=[entry.key for entry in shown],
            total=self.total,
            before=before,
            to_pay=self._to_pay.totals(),
            to_collect=self._to_collect.totals(),
            credit_notes=self.credit_notes,
        )
