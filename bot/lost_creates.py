"""Invoices created and e-mailed from Slack whose watch was never recorded.

A create whose answer is lost (a timeout, a cut connection, the process ended before the
answer was kept) may have made and e-mailed the invoice; creating it again would bill the
customer twice. Its draft, kept before the create with the reference the provider keeps,
is looked for here instead: found, it is watched like any e-mailed invoice, and #billing
and its creator are told; not found within `LOOK_FOR`, #billing is told to look for it
(one found after that would only be watched by someone sending it again); several found,
#billing is told to check them, and none is watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.checkout import Checkout
from bot.connections import Connections
from bot.models import Invoice, InvoiceDraft
from bot.provider import (
    InvoiceNotFound,
    Provider,
    ProviderError,
    ProviderUnavailable,
    SeveralInvoices,
)
from bot.store import Outcome, Store
from bot.text import escape, one_line

log = logging.getLogger(__name__)

LOOK_FOR = 3600.0
"""Seconds a lost create is looked for after its submit, before #billing is told to look:
long past any lag of the provider's list, short enough that a payment is not long unsaid."""
ASK_FOR = 86_400.0
"""Seconds a lost create is looked for while its provider does not answer (an outage):
"could not find it" would be untrue, and the invoice shows once the provider is back."""
FIRST_GAP, LAST_GAP = 30.0, 600.0
"""Seconds between looks: half the time since the submit, within these bounds."""
WATCHED, TOLD = "watched", "told"
LOOKS_AT_ONCE = 8
"""Lost creates looked for side by side, as the poller checks payments."""


def next_look(age: float) -> float:
    """Seconds until the next look at a create submitted `age` seconds ago."""
    return min(max(age / 2, FIRST_GAP), LAST_GAP)


class LostCreates:
    """Run by the poller after each round, so a restart or a second process carries on."""

    def __init__(
        self,
        store: Store,
        connections: Connections,
        checkout: Checkout,
        billing_channel: Callable[[str], str | None],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.connections = connections
        self.checkout = checkout
        self.billing_channel = billing_channel
        self.wake = wake
        self._slots = asyncio.Semaphore(LOOKS_AT_ONCE)

    async def run_once(self, now: float | None = None) -> int:
        """Look once for each lost create due a look; return how many were looked for.

        Side by side: a provider that hangs holds the poller's round for one look, not
        for one per lost create."""
        now = time.time() if now is None else now
        taken: list[tuple[dict[str, Any], float]] = []
        for row in self.store.lost_creates(now):
            try:
                age = now - datetime.fromisoformat(row["at"]).timestamp()
            except (TypeError, ValueError):  # looked for once, then handed to #billing
                age = ASK_FOR
            if self.store.take_lost_create(row["key"], row["look_at"], now + next_look(age)):
                taken.append((row, age))  # else another process looks at it now

        async def one(row: dict[str, Any], age: float) -> None:
            async with self._slots:
                try:
                    await self._look(row, age)
                except Exception:  # one row's fault must not stop the others; looked for again
                    log.exception("looking for an invoice whose create answer was lost")

        await asyncio.gather(*(one(row, age) for row, age in taken))
        return len(taken)

    async def _look(self, row: dict[str, Any], age: float) -> None:
        title = row["provider"]
        with contextlib.suppress(ProviderError):  # no longer installed: named as stored
            title = self.connections.provider_class(row["provider"]).title
        try:
            draft = InvoiceDraft.model_validate_json(row["draft"])
        except ValidationError:
            log.warning("a lost create's draft cannot be read; #billing is told to look for it")
            with self.store.transaction():
                if self.store.end_lookup(row["key"], TOLD):
                    self._tell(row, *unreadable_messages(title, row["user_id"]))
            self.wake()
            return
        invoice: Invoice | None = None
        answered, patience = False, LOOK_FOR
        try:
            provider = self.connections.get(row["team_id"], row["provider"])
            invoice = await self._find(provider, draft, row["subject"])
            answered = True
        except SeveralInvoices as several:  # no watch could tell which the customer pays
            log.warning("a lost create matches %d invoices; #billing is told", len(several.ids))
            with self.store.transaction():
                if self.store.end_lookup(row["key"], TOLD):
                    self._tell(row, *several_messages(draft, several.ids, title, row["user_id"]))
            self.wake()
            return
        except ProviderUnavailable as error:  # down: asked again while it may come back
            log.info("a lost create is looked for again later: %s", error.message)
            patience = ASK_FOR
        except ProviderError as error:  # not connected now: it may be reconnected
            log.info("a lost create cannot be looked for now: %s", error.message)
        except Exception:  # its credentials unreadable, a fault: past the hour all the same
            log.exception("looking for an invoice whose create answer was lost")
        if invoice is not None:
            self._watch(row, draft, invoice, title)
        elif age >= patience:
            self._give_up(row, draft, title, answered)

    async def _find(
        self, provider: Provider, draft: InvoiceDraft, number: str | None
    ) -> Invoice | None:
        if number is None:
            return await provider.find_created(draft)
        try:  # its number was kept: the answer came, its watch was not recorded
            return await provider.get_invoice(number)
        except InvoiceNotFound:
            return None

    def _watch(
        self, row: dict[str, Any], draft: InvoiceDraft, invoice: Invoice, title: str
    ) -> None:
        key, team_id, user_id = row["key"], row["team_id"], row["user_id"]
        told = row["outcome"] not in ("created", "created_differently")  # told nothing sure yet
        # E-mailed for its total: one paid before it was found has nothing left due.
        invoice = invoice.model_copy(update={"amount_due": invoice.total_incl_vat})
        with self.store.claim():
            if not self.store.end_lookup(key, WATCHED):
                return  # watched by its own submit meanwhile
            self.checkout.watch_emailed(
                team_id=team_id,
                user_id=user_id,
                provider=row["provider"],
                invoice=invoice,
                to=draft.customer_email,
            )
            if told:  # a form submitted again now says what this one made
                same = invoice.total_incl_vat == draft.total
                outcome: Outcome = "created" if same else "created_differently"
                self.store.settle_submission(key, outcome, invoice.number)
                self._tell(row, *found_messages(draft, invoice, title, user_id))
            else:  # its dialog may not have shown it, if the bot stopped right after
                self._tell(row, None, watched_message(draft, invoice, title))
        if told:
            self.store.audit(
                "invoice.created",
                team_id=team_id,
                user_id=user_id,
                subject=invoice.number,
                provider=row["provider"],
                total=invoice.total_incl_vat.format(),
                sent=True,
                invoice_id=invoice.id,
                found_after_lost_answer=True,
            )
        self.wake()

    def _give_up(
        self, row: dict[str, Any], draft: InvoiceDraft, title: str, answered: bool
    ) -> None:
        """`answered`: the provider's list was read and the invoice is not in it; else the
        last look could not ask (down, not connected, a fault), and #billing is told so."""
        words = not_found_messages if answered else unasked_messages
        with self.store.transaction():
            if self.store.end_lookup(row["key"], TOLD):
                self._tell(row, *words(draft, title, row["user_id"]))
        self.wake()

    def _tell(self, row: dict[str, Any], billing: str | None, creator: str) -> None:
        team_id, key = row["team_id"], row["key"]
        channel = self.billing_channel(team_id)
        if channel is not None and billing is not None:
            self.store.enqueue(
                "chat.postMessage",
                {"channel": channel, "text": billing},
                key=f"lost-create-billing:{key}",
                team_id=team_id,
            )
        self.store.enqueue(
            "chat.postMessage",
            {"channel": row["user_id"], "text": creator},
            key=f"lost-create-creator:{key}",
            team_id=team_id,
        )


def _for(draft: InvoiceDraft) -> str:
    return f"{escape(draft.customer_name)} ({escape(draft.customer_email)}), {draft.total.format()}"


def _differs(draft: InvoiceDraft, invoice: Invoice, where: str) -> str:
    if invoice.total_incl_vat == draft.total:
        return ""
    return (
        f" {where} lists it at {invoice.total_incl_vat.format()}, not the "
        f"{draft.total.format()} reviewed: correct or void it at {where}."
    )


def found_messages(
    draft: InvoiceDraft, invoice: Invoice, title: str, user_id: str
) -> tuple[str, str]:
    """#billing's and the creator's words for a lost create found and watched."""
    where = escape(title)
    number = escape(invoice.number)
    differs = _differs(draft, invoice, where)
    billing = (
        f":information_source: Invoice *{number}* for {_for(draft)} was created at {where} "
        f"from Slack by <@{user_id}>, though its answer was lost. invoicebot watches it now: "
        f"this channel hears when the customer pays it.{differs}"
    )
    creator = (
        f":white_check_mark: The invoice for {_for(draft)}, whose answer was lost, was "
        f"created at {where} after all: invoice *{number}*. Do not create it again; #billing hears "
        f"when the customer pays it.{differs}"
    )
    return billing, creator


def watched_message(draft: InvoiceDraft, invoice: Invoice, title: str) -> str:
    """The creator's words for an invoice whose create was answered, watched only later."""
    where = escape(title)
    differs = _differs(draft, invoice, where)
    return (
        f":white_check_mark: Invoice *{escape(invoice.number)}* for {_for(draft)} was created "
        f"at {where}, and #billing hears when the customer pays it.{differs}"
    )


def not_found_messages(draft: InvoiceDraft, title: str, user_id: str) -> tuple[str, str]:
    """#billing's and the creator's words for a lost create never found."""
    where = escape(title)
    billing = (
        f":warning: An invoice for {_for(draft)} created from Slack by <@{user_id}> may exist "
        f"at {where}: its answer was lost, and invoicebot could not find it there. Look for "
        f"it at {where}; if it was created, invoicebot does not watch it, so this channel "
        "will not hear when the customer pays it."
    )
    creator = (
        f":warning: invoicebot could not find the invoice for {_for(draft)}, whose answer was "
        f"lost. It may exist all the same: look for it at {where} before you create it again."
    )
    return billing, creator


SHOWN_IDS = 5
"""Invoices named in a message about several found: enough to find the rest by."""


def several_messages(
    draft: InvoiceDraft, ids: tuple[str, ...], title: str, user_id: str
) -> tuple[str, str]:
    """#billing's and the creator's words for a lost create that more than one invoice
    at the provider answers to: none is watched, so a person must tell which is real."""
    where = escape(title)
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    named = f"{', '.join(one_line(key) for key in ids[:SHOWN_IDS])}{more}"
    billing = (
        f":warning: An invoice for {_for(draft)} created from Slack by <@{user_id}> may "
        f"exist more than once at {where}: its answer was lost, and {where} lists {len(ids)} "
        f"invoices made from it ({named}). A person must check them at {where}: the "
        "customer may have been sent more than one, and invoicebot watches none of them, "
        "so this channel will not hear when the customer pays."
    )
    creator = (
        f":warning: The invoice for {_for(draft)}, whose answer was lost, matches {len(ids)} "
        f"invoices at {where} ({named}), so invoicebot watches none of them. Do not create "
        "it again; #billing was asked to check them."
    )
    return billing, creator


def unasked_messages(draft: InvoiceDraft, title: str, user_id: str) -> tuple[str, str]:
    """#billing's and the creator's words for a lost create its provider was never asked
    about in the end (down past a day, not connected, its credentials unreadable)."""
    where = escape(title)
    billing = (
        f":warning: An invoice for {_for(draft)} created from Slack by <@{user_id}> may exist "
        f"at {where}: its answer was lost, and invoicebot could not ask {where} for it. Look "
        f"for it at {where}; if it was created, invoicebot does not watch it, so this channel "
        "will not hear when the customer pays it."
    )
    creator = (
        f":warning: invoicebot could not ask {where} for the invoice for {_for(draft)}, whose "
        f"answer was lost. It may exist all the same: look for it at {where} before you "
        "create it again."
    )
    return billing, creator


def unreadable_messages(title: str, user_id: str) -> tuple[str, str]:
    """#billing's and the creator's words for a lost create whose draft cannot be read."""
    where = escape(title)
    billing = (
        f":warning: An invoice created from Slack by <@{user_id}> may exist at {where}: its "
        "answer was lost, and invoicebot cannot read what it was to look for it. Look for it "
        f"at {where}; if it was created, invoicebot does not watch it, so this channel will "
        "not hear when the customer pays it."
    )
    creator = (
        ":warning: invoicebot cannot look for the invoice you created whose answer was lost. "
        f"It may exist all the same: look for it at {where} before you create it again."
    )
    return billing, creator
