"""One invoice's story: who asked to pay it, each attempt, the settlement, the reminders.

The story is assembled from a list of sources, each reading one kind of record; a new
kind of record (approvals, say) adds a source to `STORY_SOURCES`, and the providers its
records name to `Subject`, so that its lines say which provider's invoice they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.approvals_record import approval_story, asked_at
from bot.models import Emailed, Payment, PaymentState
from bot.records import settlement_note, twice_note
from bot.runs import DUE, Runs
from bot.slack.blocks.paying import EMAILED_METHOD, payment_sum
from bot.store import AuditEntry, Store
from bot.text import one_line, plain


@dataclass(frozen=True)
class Event:
    at: datetime
    text: str
    """mrkdwn on one line, with everything from a provider or a person already escaped
    and its line breaks made spaces (`one_line`): one event cannot pass for another."""


@dataclass(frozen=True)
class Subject:
    """The invoice the story is about, as the store knows it."""

    team_id: str
    number: str
    payments: list[Payment]
    titles: dict[str, str]
    menus: list[AuditEntry] = field(default_factory=list)
    """Pay menus opened for an invoice printed `number` at any provider, with or
    without a payment: a provider that only showed one still prints the number."""
    asked: set[str] = field(default_factory=set)
    """Providers of the requests for approval to pay an invoice printed `number`."""

    @property
    def providers(self) -> set[str]:
        """The providers whose invoice printed `number` the story tells of."""
        menus = {menu_provider(m) for m in self.menus}
        return {p.provider for p in self.payments} | menus | self.asked

    def at(self, payment: Payment) -> str:
        """ "i3D.net: " before what happened to `payment` when more than one provider
        prints this number, so that two invoices' stories are never read as one."""
        return self.named(payment.provider)

    def named(self, provider: str) -> str:
        """ "i3D.net: " as `at` says it, for something that happened at `provider`."""
        if len(self.providers) < 2:
            return ""
        return f"{one_line(self.titles.get(provider, provider))}: "


def menu_provider(entry: AuditEntry) -> str:
    """The provider a pay menu's audit row was shown for: its subject leads with it."""
    return (entry.subject or "").split("|")[0]


def opened_menus(store: Store, team_id: str, number: str) -> list[AuditEntry]:
    """The openings of pay menus shown for an invoice printed `number`, alone or with
    others: only a menu's opening (no method chosen yet) is a request, not each choice."""
    return [
        entry
        for entry in store.menus_for(team_id, number)
        if entry.subject and entry.subject.split("|")[2:3] in ([], [""])
    ]


def printing(store: Store, team_id: str, number: str) -> list[str]:
    """The providers that print `number` on an invoice the team paid or asked to pay."""
    return sorted(_subject(store, team_id, number, {}).providers)


def _subject(store: Store, team_id: str, number: str, titles: dict[str, str]) -> Subject:
    payments = store.payments_for_number(team_id, number)
    menus = opened_menus(store, team_id, number)
    return Subject(team_id, number, payments, titles, menus, asked_at(store, team_id, number))


StorySource = Callable[[Store, Subject], list[Event]]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def attempts(store: Store, subject: Subject) -> list[Event]:
    ended = {  # when each attempt that ended moved to its end, as the audit saw it
        entry.subject: datetime.fromisoformat(entry.at)
        for entry in store.moves_of([p.id for p in subject.payments])
        if entry.action in ("payment.failed", "payment.cancelled")
    }
    events = []
    for p in subject.payments:
        others = [n for n in p.invoice_numbers if n != subject.number]
        together = f" together with {one_line(', '.join(others))}" if others else ""
        if p.direction != "receivable":
            what = "Payment started"
        elif isinstance(p.start, Emailed):  # maybe not the customer's address: say which
            what = f"Invoice e-mailed to {one_line(p.start.to)}"
        else:
            what = "Payment link for the customer copied"  # sent on by whoever copied it
        where = subject.at(p)
        # An e-mailed invoice is paid however the customer likes: "by e-mail" is no way to pay.
        how = "" if isinstance(p.start, Emailed) else f" by {one_line(p.method_name)}"
        events.append(
            Event(
                _aware(p.created_at),
                f"{where}{what} by <@{p.user_id}>: {p.amount.format()}{how}{together} "
                f"(now {p.standing})",
            )
        )
        if p.opened_at:
            events.append(Event(_aware(p.opened_at), f"{where}The payment page was opened"))
        if p.state in (PaymentState.FAILED, PaymentState.CANCELLED) and p.last_error:
            at = ended.get(p.id) or max(_aware(p.created_at), _aware(p.opened_at or p.created_at))
            # What the payer was shown: statuses and request ids stay in the log.
            ended_text = f"{where}The attempt ended: {one_line(plain(p.last_error))}"
            events.append(Event(_aware(at), ended_text))
    return events


def settlement(store: Store, subject: Subject) -> list[Event]:
    events = []
    for attempt in subject.payments:
        p = _credited_part(store, subject, attempt) or attempt
        if p.settlement_id and p.paid_at:
            # The reference #billing and the export show, for matching the statement.
            shown = p.receipt or p.provider_reference
            reference = f" (reference {one_line(shown)})" if shown else ""
            how = EMAILED_METHOD if isinstance(p.start, Emailed) else _method(p)
            netted = f" ({summed})" if (summed := payment_sum(p)) else ""  # credits taken off
            # What #billing and the export's note say to act on beside it: the provider's
            # note, a charge of its own after it was credited on the invoice's word.
            said = settlement_note(store, p)
            noted = f" :warning: {one_line(said)}" if said else ""
            events.append(
                Event(
                    _aware(p.paid_at),
                    f":white_check_mark: {subject.at(p)}Settled: "
                    f"{_settled_amount(p, subject.number)}{netted} by {how}{reference}{noted}",
                )
            )
        elif p.state is PaymentState.SUPERSEDED and p.paid_at:
            # Money taken after the settlement: the dispute a reader looks this up for.
            shown = p.receipt or p.provider_reference
            reference = f" (reference {one_line(shown)})" if shown else ""
            events.append(
                Event(
                    _aware(p.paid_at),
                    f":warning: {subject.at(p)}Paid again after it was settled: "
                    f"{_settled_amount(p, subject.number)} by {_method(p)}"
                    f"{reference}: {twice_note(store, p)}",
                )
            )
    return events


def _credited_part(store: Store, subject: Subject, payment: Payment) -> Payment | None:
    """The settlement of this invoice, when an attempt's watch ended with only some of its
    invoices paid (see `Store.credited_in_part`), this one among them."""
    if payment.state is not PaymentState.EXPIRED:
        return None
    number = subject.number.lower()
    parts = store.credited_in_part(payment.id)
    return next((p for p in parts if number in (n.lower() for n in p.invoice_numbers)), None)


def _method(payment: Payment) -> str:
    """ "iDEAL (ING)": the bank as #billing and the export name it, to match a statement."""
    issuer = f" ({payment.issuer_name})" if payment.issuer_name else ""
    return one_line(f"{payment.method_name}{issuer}")


def _settled_amount(payment: Payment, number: str) -> str:
    """ "€121.00 of €459.80 paid together with INV-1" for a payment of several invoices,
    so that its total is not booked against this one; the amount alone for one."""
    others = [n for n in payment.invoice_numbers if n.lower() != number.lower()]
    if not others:
        return payment.amount.format()
    lines = (line.amount for line in payment.lines if line.number.lower() == number.lower())
    own = next(lines, None)
    share = f"{own.format()} of " if own is not None else ""
    return f"{share}{payment.amount.format()} paid together with {one_line(', '.join(others))}"


def credit_used(store: Store, subject: Subject) -> list[Event]:
    """A credit note's story: the payments that took it off."""
    events = []
    for p in store.payments_crediting(subject.team_id, subject.number):
        credit = next((c for c in p.credits if c.number.lower() == subject.number.lower()), None)
        if credit is not None and p.settlement_id and p.paid_at:
            events.append(
                Event(
                    _aware(p.paid_at),
                    f"Taken off the payment of {one_line(', '.join(p.invoice_numbers))} by "
                    f"<@{p.user_id}>: −{credit.amount.format()}",
                )
            )
    return events


def reminders(store: Store, subject: Subject) -> list[Event]:
    events = []
    for r in Runs(store).reminders(subject.team_id, number=subject.number):
        if r.payment_id is not None:
            continue  # a Send by e-mail: its attempt tells it
        if r.kind == DUE:
            text = "Payers were reminded that it falls due soon"
        else:
            by = "automatically" if r.automatic else f"by <@{r.user_id}>"
            to = f" to {one_line(r.sent_to)}" if r.sent_to else ""
            state = "" if r.state == "sent" else " (the provider did not confirm it)"
            text = f":email: Customer reminded {by}{to}{state}"
        events.append(Event(_aware(r.at), text))
    return events


REQUESTS = {
    "invoice.created": "created it in Slack",
    "payment.menu": "asked for the ways to pay it",
    "refused.pay": "was refused: not a payer",
    "payment.refused": "was refused by the provider",
    "payment.link_shown_again": "was shown the customer's payment link again",
    "invoice.emailed": "had the invoice e-mailed",
    "payment.superseded": "link no longer needed (paid through another payment)",
}


def requests(store: Store, subject: Subject) -> list[Event]:
    """What people asked for, from the audit log (attempts and settlements are above)."""
    paid_at = {p.id: p.provider for p in subject.payments}
    # Only this invoice's own menus: not one of another invoice paid together with it.
    invoice_refs = {
        (p.provider, invoice)
        for p in subject.payments
        for invoice, number in zip(p.invoice_ids, p.invoice_numbers, strict=False)
        if number == subject.number
    }
    menus = [f"{provider}|{invoice}||" for provider, invoice in invoice_refs]
    entries = store.audit_about(subject.team_id, [*paid_at, *menus], number=subject.number)
    # A menu shown before any payment, or for several invoices, is found by its numbers.
    entries += subject.menus
    seen: set[tuple[str, str, str | None, str | None]] = set()
    events = []
    for entry in sorted(entries, key=lambda e: e.at):
        key = (entry.at, entry.action, entry.user_id, entry.subject)
        if entry.action not in REQUESTS or key in seen:
            continue
        seen.add(key)
        who = f"<@{entry.user_id}> " if entry.user_id else ""
        provider = paid_at.get(entry.subject or "")
        if provider is None and "|" in (entry.subject or ""):
            provider = menu_provider(entry)
        where = subject.named(provider) if provider else ""
        text = f"{where}{who}{REQUESTS[entry.action]}"
        events.append(Event(datetime.fromisoformat(entry.at), text))
    return events


STORY_SOURCES: list[StorySource] = [
    requests,
    approval_story,
    attempts,
    settlement,
    credit_used,
    reminders,
]


def story(store: Store, team_id: str, number: str, titles: dict[str, str]) -> list[Event]:
    """Every event about the invoice printed `number`, oldest first."""
    subject = _subject(store, team_id, number, titles)
    events = [
        (event.at.replace(microsecond=0), rank, event)
        for rank, source in enumerate(STORY_SOURCES)
        for event in source(store, subject)
    ]
    # Within a second, in the order the sources are listed (asked, started, settled…):
    # providers often state times to the second only.
    return [event for _, _, event in sorted(events, key=lambda item: item[:2])]
