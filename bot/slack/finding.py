"""An invoice found by the number a person typed, at whichever connected provider has it.

`/invoices pay <number>` and `/invoices history <number>` both need it: people type a
number, not a provider, and sometimes in another case than it is printed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.models import Invoice
from bot.provider import InvoiceNotFound, Provider, ProviderError, SeveralInvoices
from bot.slack.blocks.kit import NUMBER_CHARS, escape, inline
from bot.slack.services import Services
from bot.snapshots import Snapshot, Snapshots

log = logging.getLogger(__name__)

LOOKUP_SECONDS = 10.0
"""How long one provider may take to say whether it has a number; past that it counts as
not answering (a lookup by number may page through a whole account, whose read then goes
on as the connection's shared one, for the next try: see `look_up`)."""

SHOWN_IDS = 5
"""Ids named when several invoices share a number; a search lists them all."""
ID_CHARS = 40

CASE_LOOKUP_SECONDS = 5.0
"""How long a lookup reads the lists for a number typed in another case; a read still
going on then finishes for the next list, unawaited."""


@dataclass
class Lookup:
    """What the connected providers said about one number."""

    found: tuple[Provider, Invoice] | None = None
    silent: list[str] = field(default_factory=list)
    """Titles of the providers that could not say whether they have it."""
    slow: list[str] = field(default_factory=list)
    """Those of `silent` whose search ran out of `LOOKUP_SECONDS`: maybe a long list being
    read, not a provider down, so not said to be "not answering"."""
    several: list[tuple[Provider, SeveralInvoices]] = field(default_factory=list)
    """Providers with more than one invoice by that number: none of them is picked."""


async def look_up(
    providers: list[Provider], number: str, snapshots: Snapshots | None = None
) -> Lookup:
    """Ask every provider at once for `number`, exactly as typed; the one that prints it
    wins, else the first (in the providers' order) that has it by another name (its own
    id). Several invoices by it, at one provider or printed by two, go to `several`.

    With `snapshots`, a provider whose list is kept fresh or being read is answered from
    that list where it names the invoice (or several), and one that runs out of time has
    its list read on there: a huge account's lookup, cut short and started over on each
    try, might never finish."""
    answers = await asyncio.gather(
        *(_ask(provider, number, snapshots) for provider in providers),
        return_exceptions=True,
    )
    lookup = Lookup()
    printing: list[tuple[Provider, Invoice]] = []
    for provider, answer in zip(providers, answers, strict=True):
        if not isinstance(answer, BaseException):
            if printed_as(answer, number):
                printing.append((provider, answer))
            # A provider that prints this number beats one that took it for an id.
            if lookup.found is None or (
                printed_as(answer, number) and not printed_as(lookup.found[1], number)
            ):
                lookup.found = (provider, answer)
            continue
        if isinstance(answer, SeveralInvoices):
            lookup.several.append((provider, answer))
            continue
        if not isinstance(answer, InvoiceNotFound):
            lookup.silent.append(provider.title)
        if isinstance(answer, TimeoutError):
            lookup.slow.append(provider.title)
            log.warning(
                "provider %s did not say within %g s whether it has an invoice",
                provider.name,
                LOOKUP_SECONDS,
            )
        elif not isinstance(answer, InvoiceNotFound | ProviderError):
            log.error("provider %s failed to look up an invoice", provider.name, exc_info=answer)
    if len(printing) > 1:  # two providers print it: paying either would be a guess
        for provider, invoice in printing:
            shared = f"{provider.title} has an invoice numbered {invoice.number!r}."
            lookup.several.append((provider, SeveralInvoices(shared, [invoice.id])))
    if lookup.several:  # one found elsewhere would be a guess among them all
        lookup.found = None
    return lookup


async def _ask(provider: Provider, number: str, snapshots: Snapshots | None) -> Invoice:
    try:
        return await asyncio.wait_for(_answer(provider, number, snapshots), LOOKUP_SECONDS)
    except TimeoutError:
        if snapshots is not None:  # read on, shared, for the next try (or a list)
            reading = asyncio.ensure_future(snapshots.read(provider))
            reading.add_done_callback(lambda task: task.cancelled() or task.exception())
        raise


async def _answer(provider: Provider, number: str, snapshots: Snapshots | None) -> Invoice:
    """From the shared list when it is at hand and names the invoice, else the provider's
    own lookup (which may find what the list cannot: another form of an id, say)."""
    if snapshots is not None:
        snapshot = snapshots.just_read(provider)
        if snapshot is None and snapshots.ready(provider):
            snapshot = await snapshots.read(provider)
        listed = _listed(provider, snapshot, number) if snapshot is not None else None
        if listed is not None:
            return listed
    return await provider.get_invoice(number)


def _listed(provider: Provider, snapshot: Snapshot, number: str) -> Invoice | None:
    """The one invoice in a whole list whose id is `number` or that prints it, in any
    case (some providers' lookups tell numbers apart by case, some do not: two that
    differ only so are both named); None where the list cannot tell: it has none (the
    provider's own lookup may know another form of an id), or set one aside that may be
    it. A list kept, being read or read moments ago (`Snapshots.just_read`): what it
    says of a status may be that old, and a pay menu reads the amounts anew."""
    key = number.strip()
    wanted = key.casefold()
    if any(entry.casefold() == wanted for entry in snapshot.unreadable):
        return None
    found = [i for i in snapshot.invoices if key == i.id or i.number.casefold() == wanted]
    if len(found) > 1:
        shared = f"{provider.title} has {len(found)} invoices that go by {key!r}."
        raise SeveralInvoices(shared, [invoice.id for invoice in found])
    return found[0] if found else None


def unsaid(lookup: Lookup, number: str) -> str:
    """Why `lookup.silent` could not say whether they have `number`: not answering, or a
    search that ran out of time (a huge account's whole list, read page by page)."""
    shown = escape(number)
    down = [title for title in lookup.silent if title not in lookup.slow]
    slow = [title for title in lookup.silent if title in lookup.slow]
    said = []
    if down:
        names = escape(", ".join(down))
        said.append(f"Could not look for “{shown}” at {names}: it is not answering right now.")
    if slow:
        names = escape(", ".join(slow))
        said.append(f"Could not look for “{shown}” at {names} in time: the search took too long.")
    return " ".join(said)


def unsaid_next(lookup: Lookup, number: str) -> str:
    """What to do about `unsaid`. A lookup cut short has its list read on and shared, as
    a search's is: a try while it is read, or soon after, finds the number in it."""
    if not lookup.slow:
        return "try again in a few minutes."
    return (
        f"try again in a moment, or find it with `/invoices search {inline(number, NUMBER_CHARS)}`."
    )


def printed_as(invoice: Invoice, number: str) -> bool:
    """Whether `invoice` prints `number` (in any case), not merely has it as its id."""
    return invoice.number.lower() == number.strip().lower()


async def printed_number(svc: Services, providers: list[Provider], number: str) -> str | None:
    """The one invoice number that differs from `number` only in case (people type
    `inv-7` for `INV-7`; providers look numbers up exactly), from the providers' lists:
    the snapshot a list keeps, or a read shared with any list asked for meanwhile."""
    reads = [asyncio.ensure_future(svc.snapshots.read(p)) for p in providers]
    if not reads:
        return None
    for read in reads:  # one left running past the wait may fail unheard: that is fine
        read.add_done_callback(lambda task: task.cancelled() or task.exception())
    done, _ = await asyncio.wait(reads, timeout=CASE_LOOKUP_SECONDS)
    wanted = number.lower()  # as the store's LOWER, so both lookups agree
    printed = {
        invoice.number
        for read in done
        if read.exception() is None
        for invoice in read.result().invoices
        if invoice.number.lower() == wanted and invoice.number != number
    }
    return printed.pop() if len(printed) == 1 else None


async def find(svc: Services, providers: list[Provider], number: str) -> Lookup:
    """The invoice as typed, else the one whose number differs only in case (tried once,
    and only when every provider could say it does not have the number as typed)."""
    lookup = await look_up(providers, number, svc.snapshots)
    if (
        lookup.found is None
        and not lookup.silent
        and not lookup.several
        and (printed := await printed_number(svc, providers, number))
    ):
        lookup = await look_up(providers, printed, svc.snapshots)
    return lookup


def several_said(lookup: Lookup, number: str, command: str) -> str:
    """Why nothing was picked for `number`, and how to pick: its own buttons in a
    search, or an id that finds exactly one (ids are the provider's, so escaped)."""
    shown = inline(number, NUMBER_CHARS)
    told = []
    for provider, error in lookup.several:
        ids = [f"`{inline(key, ID_CHARS)}`" for key in error.ids[:SHOWN_IDS]]
        more = f" and {len(error.ids) - SHOWN_IDS} more" if len(error.ids) > SHOWN_IDS else ""
        if len(error.ids) == 1:
            what = f"an invoice that goes by “{shown}” (id {ids[0]})"
        else:
            what = f"{len(error.ids)} invoices that go by “{shown}” (ids {', '.join(ids)}{more})"
        told.append(f"{escape(provider.title)} has {what}")
    # A search's own buttons pay (or send a customer a link); they tell no history.
    buttons = " (each with its own buttons)" if command == "pay" else ""
    return (
        f"{'; '.join(told)}, so none was picked. Find the one you mean with "
        f"`/invoices search {shown}`{buttons}, or type its id after `/invoices {command}`."
    )
