"""The billing channel's digest and the payers' due-soon DMs (pure builders).

Every block id of a digest starts with `digest.`: a click on its buttons is answered
in the clicker's messages with the app, never by replacing the digest everyone reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bot.models import Invoice, Money
from bot.provider import Direction, Provider
from bot.reminding import can_remind
from bot.runs import Reminder
from bot.slack import values
from bot.slack.blocks.kit import (
    NUMBER_CHARS,
    Block,
    Ids,
    button,
    context,
    escape,
    header,
    inline,
    section,
)
from bot.slack.blocks.listing import answered_note, left_of, not_read, nothing_known

DIGEST_PREFIX = "digest."
SHOWN = 10
"""Invoices listed per part; the rest are counted (a message holds at most 50 blocks)."""
SECTION_CHARS = 3000
"""Slack's most characters in a section's text."""
REASON_CHARS = 200
"""What a provider that failed said, as shown in a list of several."""


class DigestIds(Ids):
    def __call__(self, name: str) -> str:
        return super().__call__(DIGEST_PREFIX + name)


@dataclass(frozen=True)
class DigestFacts:
    """What the digest says, gathered from the providers and the store."""

    today: date
    ahead: int
    providers: dict[str, Provider]
    invoices: list[Invoice]
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    """(provider name, title, what went wrong) for providers that did not answer."""
    unreadable: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    """(provider name, title, their numbers or ids) for invoices a provider sent that
    could not be read: each might be overdue, so the digest says they are missing."""
    reminded: dict[tuple[str, str], Reminder] = field(default_factory=dict)
    """The last customer reminder, by (provider, invoice id)."""
    in_doubt: dict[tuple[str, str], str] = field(default_factory=dict)
    """Why a charge not confirmed either way may have paid an invoice, by (provider,
    invoice id): said on its row (`bot.checkout.charges_in_doubt`)."""

    def direction(self, invoice: Invoice) -> Direction:
        return self.providers[invoice.provider].capabilities.direction

    def read_in_full(self, direction: Direction) -> tuple[list[str], list[str], list[str]]:
        """The titles of `direction`'s providers read in full, of those that failed and of
        those that sent invoices that could not be read (`nothing_known`'s arguments).
        Matched by name, since titles need not be unique among plugins; a name no
        connected provider has is taken to be of either direction."""

        def ours(name: str) -> bool:
            provider = self.providers.get(name)
            return provider is None or provider.capabilities.direction is direction

        failed = {name: title for name, title, _ in self.failed if ours(name)}
        partly = {
            name: title for name, title, _ in self.unreadable if ours(name) and name not in failed
        }
        read = [
            provider.title
            for name, provider in self.providers.items()
            if ours(name) and name not in failed and name not in partly
        ]
        return read, list(failed.values()), list(partly.values())

    def parts(self) -> tuple[list[Invoice], list[Invoice], list[Invoice]]:
        """Overdue payables, payables due within `ahead` days, overdue receivables.

        A payable with no due date is never overdue, yet owed now: it is listed with
        those due soon, after them, so no bill is left out of the digest."""
        owed = [i for i in self.invoices if i.payable]
        payables = [i for i in owed if self.direction(i) is Direction.PAYABLE]
        receivables = [i for i in owed if self.direction(i) is Direction.RECEIVABLE]
        overdue = sorted((i for i in payables if i.is_overdue(self.today)), key=_due)
        soon = sorted(
            (i for i in payables if i.due is None or 0 <= (i.due - self.today).days <= self.ahead),
            key=_due,
        )
        late = sorted((i for i in receivables if i.is_overdue(self.today)), key=_due)
        return overdue, soon, late


def _due(invoice: Invoice) -> tuple[date, str]:
    return invoice.due or date.max, invoice.number


def totals(invoices: list[Invoice]) -> str:
    """`EUR 1,200.00 + USD 30.00`: one sum per currency, never added across currencies."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        sums[invoice.currency] += invoice.amount_due.amount
    return " + ".join(
        Money(amount=amount, currency=currency).format()
        for currency, amount in sorted(sums.items())
    )


def _line(invoice: Invoice, facts: DigestFacts) -> str:
    provider = facts.providers[invoice.provider]
    who = f" · {inline(invoice.payer, NUMBER_CHARS)}" if invoice.payer else ""
    if invoice.due is None:
        when = "no due date"
    elif invoice.due < facts.today:
        # As the list says it: on its due day it was due, not yet overdue.
        days = (facts.today - invoice.due).days
        when = f"overdue {days} day{'s' if days != 1 else ''} (due {invoice.due.isoformat()})"
    else:
        when = f"due {invoice.due.isoformat()}"
    return (
        f"*{inline(invoice.number, NUMBER_CHARS)}* · {escape(provider.title)}{who}\n"
        f"*{invoice.amount_due.format()}*{left_of(invoice)} · {when}"
    )


def _reminded(invoice: Invoice, facts: DigestFacts) -> str:
    last = facts.reminded.get((invoice.provider, invoice.id))
    if last is None:
        return "not reminded yet"
    how = "automatically" if last.automatic else f"by <@{last.user_id}>" if last.user_id else ""
    # As the invoice's history says it: a lost answer may mean no e-mail went out.
    unsure = "" if last.state == "sent" else " (the provider did not confirm it)"
    return f"last reminded {last.day} {how}".rstrip() + unsure


def _accessory(invoice: Invoice, facts: DigestFacts) -> dict[str, Any] | None:
    provider = facts.providers[invoice.provider]
    if not values.carries(invoice.id):
        return None
    target = values.PayTarget(provider.name, (invoice.id,)).encode()
    if provider.capabilities.direction is Direction.PAYABLE:
        return button("Pay", values.PAY, target, style="primary")
    if can_remind(provider):
        return button("Send reminder", values.REMIND, target)
    return button("Copy payment link", values.COPY_LINK, target)


def _part(
    ids: Ids, title: str, invoices: list[Invoice], facts: DigestFacts, direction: Direction
) -> list[Block]:
    if not invoices:
        known = nothing_known("none", *facts.read_in_full(direction))
        return [section(ids, f"*{title}*: {known or 'none.'}")]
    blocks = [section(ids, f"*{title}*: {len(invoices)} · {totals(invoices)}")]
    for invoice in invoices[:SHOWN]:
        line = _line(invoice, facts)
        if facts.direction(invoice) is Direction.RECEIVABLE:
            line += f" · {_reminded(invoice, facts)}"
        if doubt := facts.in_doubt.get((invoice.provider, invoice.id)):
            line += f"\n:hourglass: {doubt}"
        blocks.append(section(ids, line, _accessory(invoice, facts)))
    if len(invoices) > SHOWN:
        blocks.append(context(ids, f"and {len(invoices) - SHOWN} more: type `/invoices overdue`"))
    return blocks


def _counted(count: int, noun: str) -> str:
    """ "1 overdue payable", "2 overdue payables": the notification is read as a sentence."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _unreadable_line(title: str, labels: tuple[str, ...], *, short: bool = False) -> str:
    count = len(labels)
    named = [label for label in labels if label][:5]
    which = ", ".join(inline(label, NUMBER_CHARS) for label in named)
    which = f" ({which}{', …' if count > len(named) else ''})" if named else ""
    if short:
        name = inline(title, NUMBER_CHARS)
        return f"*{name}*: {_counted(count, 'invoice')}{which} could not be read"
    return (
        f":warning: *{escape(title)}*: {_counted(count, 'invoice')}{which} could not be read: "
        f"{'they are' if count != 1 else 'it is'} missing from this digest. Look "
        f"{'them' if count != 1 else 'it'} up at {escape(title)}."
    )


def _failed_text(failed: list[tuple[str, str, str]]) -> str:
    if len(failed) == 1:
        ((_, title, said),) = failed
        return (
            f":warning: *{escape(title)}* did not answer ({escape(said)}): its "
            "invoices are missing from this digest."
        )
    lines = [
        f"• *{inline(title, NUMBER_CHARS)}* ({inline(said, REASON_CHARS)})"
        for _, title, said in failed
    ]
    return _folded(
        ":warning: These providers did not answer: their invoices are missing from this digest.",
        lines,
        "more providers did not answer",
    )


def _unreadable_text(unreadable: list[tuple[str, str, tuple[str, ...]]]) -> str:
    if len(unreadable) == 1:
        ((_, title, labels),) = unreadable
        return _unreadable_line(title, labels)
    lines = [f"• {_unreadable_line(title, labels, short=True)}" for _, title, labels in unreadable]
    return _folded(
        ":warning: Invoices that could not be read are missing from this digest; look them "
        "up at their providers.",
        lines,
        "more providers have invoices that could not be read",
    )


def _folded(opening: str, lines: list[str], more: str) -> str:
    """One section for every provider in `lines`: a block each took a digest past Slack's
    50 blocks once there were many providers (they are third-party plugins), and Slack
    refuses such a post whole. Lines past the section's room are counted, not cut."""
    text = opening
    for shown, line in enumerate(lines):
        left = len(lines) - shown
        if len(text) + 1 + len(line) + len(f"\n…and {left} {more}.") > SECTION_CHARS:
            return f"{text}\n…and {left} {more}."
        text += f"\n{line}"
    return text


def digest_message(facts: DigestFacts) -> dict[str, Any]:
    ids = DigestIds()
    overdue, soon, late = facts.parts()
    blocks: list[Block] = [header(ids, f"Invoice digest · {facts.today.isoformat()}")]
    payable, receivable = Direction.PAYABLE, Direction.RECEIVABLE
    blocks += _part(ids, "Overdue payables", overdue, facts, payable)
    within = _counted(facts.ahead, "day")
    undated = " or with no due date" if any(i.due is None for i in soon) else ""
    blocks += _part(ids, f"Payables due in the next {within}{undated}", soon, facts, payable)
    blocks += _part(ids, "Overdue receivables (customers to pay us)", late, facts, receivable)
    if facts.failed:
        blocks.append(section(ids, _failed_text(facts.failed)))
    if facts.unreadable:
        blocks.append(section(ids, _unreadable_text(facts.unreadable)))
    answered = answered_note(blocks)
    blocks.append(context(ids, f"Totals are per currency. {answered or ''}".rstrip()))
    parts = [
        _counted(len(overdue), "overdue payable") + (f" ({totals(overdue)})" if overdue else ""),
        f"{len(soon)} due in {within}{undated}" + (f" ({totals(soon)})" if soon else ""),
        _counted(len(late), "overdue receivable") + (f" ({totals(late)})" if late else ""),
    ]
    missing = not_read([t for _, t, _ in facts.failed], [t for _, t, _ in facts.unreadable])
    uncounted = f"; not counted: {missing}" if missing else ""
    return {
        "text": f"Invoice digest for {facts.today.isoformat()}: " + ", ".join(parts) + uncounted,
        "blocks": blocks,
    }


def due_soon_message(invoice: Invoice, provider: Provider, today: date) -> dict[str, Any]:
    """A payer's DM: one payable falls due soon, with its **Pay** button."""
    ids = Ids()
    assert invoice.due is not None
    days = (invoice.due - today).days
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    text = (
        f"Invoice {inline(invoice.number, NUMBER_CHARS)} from {escape(provider.title)} "
        f"({invoice.amount_due.format()}{left_of(invoice)}) falls due {when}, on "
        f"{invoice.due.isoformat()}."
    )
    pay = None
    if values.carries(invoice.id):
        target = values.PayTarget(provider.name, (invoice.id,)).encode()
        pay = button("Pay", values.PAY, target, style="primary")
    return {
        "text": text,
        "blocks": [
            section(ids, f":alarm_clock: {text}", pay),
            context(ids, "You get this because you may pay invoices; one reminder a day at most."),
        ],
    }
