"""Where Pay meets the approval policy: a pay menu for a payment that needs an approval
it does not have becomes a request for one, and says why."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bot.approvals import Approvals, Binding, Request, State
from bot.approvals_policy import Policy
from bot.models import Invoice, PaymentOptions
from bot.money import Money
from bot.provider import Direction
from bot.slack import values
from bot.slack.blocks.approvals import gated
from bot.slack.blocks.kit import (
    NUMBER_CHARS,
    Block,
    Ids,
    clip,
    context,
    escape,
    inline,
    moment,
    plain,
)
from bot.slack.blocks.listing import answered_note
from bot.slack.blocks.paying import offers_payment
from bot.slack.services import Services


def _why(
    latest: Request | None, binding: Binding, now: float, viewer: str | None, holds: bool
) -> str:
    """What became of the last request for these invoices, when it does not cover this;
    `holds`: whether its approval still counts under the approval settings now."""
    if latest is None:
        return ""
    if latest.waiting(now):
        if latest.binding == binding:
            who = "You" if latest.requester == viewer else f"<@{latest.requester}>"
            return f"{who} asked for approval already; waiting for the approvers."
        return (
            f"A request for {latest.amount.format()} is pending, but the amount is now "
            f"{binding.amount.format()}."
        )
    if latest.state is State.REJECTED:
        reason = escape(latest.reason or "no reason given")
        return f"The last request was rejected by <@{latest.rejected_by}>: {reason}."
    if latest.state is State.APPROVED and latest.binding != binding:
        return (
            f"It was approved for {latest.amount.format()}; the amount is now "
            f"{binding.amount.format()}, so it needs a new approval."
        )
    if latest.state is State.EXPIRED or not latest.valid(now):
        if len(latest.approved_by) < latest.needed:
            return "The last request expired before it was decided."
        return "The last approval expired."
    if not holds:
        return (
            "It was approved, but an admin has changed the approval settings since, so it "
            "needs a new approval."
        )
    return ""


def apply_gate(
    svc: Services,
    team_id: str,
    target: values.PayTarget,
    options: PaymentOptions,
    menu: dict[str, Any],
    viewer: str | None = None,
) -> dict[str, Any]:
    """`menu` as it is, with the approval named, or turned into **Request approval**;
    `viewer` is who will read it."""
    cls = svc.connections.find_class(target.provider)
    if cls is None or cls.capabilities.direction is Direction.RECEIVABLE:
        return menu
    if not offers_payment(menu):
        return menu  # nothing to pay from it (too many invoices to pay together)
    bracket = svc.approvals.policy(team_id).needs(target.provider, options.total)
    if bracket is None:
        return menu
    binding = Binding.of(target.provider, target.invoice_ids, options.total)
    approved = svc.approvals.approved(team_id, binding)
    if approved is not None:
        until = moment(datetime.fromtimestamp(approved.expires_at, UTC))
        by = ", ".join(f"<@{user}>" for user in approved.approved_by)
        note = context(Ids(), f":white_check_mark: Approved by {by}; good until {until}.")
        where = next(i for i, b in enumerate(menu["blocks"]) if b.get("type") == "actions")
        menu["blocks"].insert(where, note)
        return menu
    latest = svc.approvals.latest(team_id, binding)
    asking = values.PayTarget(target.provider, target.invoice_ids, amount=options.total)
    now = time.time()
    waiting = latest is not None and latest.waiting(now) and latest.binding == binding
    holds = latest is None or svc.approvals.holds(team_id, latest)
    why = _why(latest, binding, now, viewer, holds)
    gated(menu, asking, bracket, why, ask=not waiting)
    return menu


def label_pay_buttons(
    approvals: Approvals, team_id: str, blocks: list[Block], invoices: list[Invoice]
) -> None:
    """In a list of invoices (the list, App Home, the digest, a due-soon DM), **Pay**
    reads **Request approval** where the amount due reaches a bracket and no live
    approval covers the invoice (the pay menu then decides on the exact total, credit
    notes netted). While a request for the invoice waits, a line says for how much, who
    asked and when, and the button reads **View request**: Slack cannot grey a button
    out, and the menu it opens says the request waits (or, the amount changed since,
    offers one for the amount due now)."""
    policy = approvals.policy(team_id)
    if not policy.brackets:
        return
    note = answered_note(blocks)
    _label(approvals, team_id, policy, blocks, invoices)
    relabeled = answered_note(blocks)
    if note and relabeled and relabeled != note:  # the note names the buttons as they read
        for block in blocks:
            for element in block.get("elements", []) if block.get("type") == "context" else []:
                if note in str(element.get("text", "")):
                    element["text"] = element["text"].replace(note, relabeled)


def _label(
    approvals: Approvals, team_id: str, policy: Policy, blocks: list[Block], invoices: list[Invoice]
) -> None:
    shown = {(invoice.provider, invoice.id): invoice for invoice in invoices}
    now = time.time()
    for block in blocks:
        pay = block.get("accessory") or {}
        if pay.get("action_id") != values.PAY:
            continue
        try:
            target = values.PayTarget.decode(pay["value"])
        except values.BadValue:  # not one the list makes; the click will refuse it
            continue
        invoice = shown.get((target.provider, target.invoice_ids[0]))
        if invoice is None or policy.needs(invoice.provider, invoice.amount_due) is None:
            continue
        binding = Binding.of(target.provider, target.invoice_ids, invoice.amount_due)
        latest = approvals.latest(team_id, binding)
        waiting = latest is not None and latest.waiting(now)
        used = approvals.credits_used(latest) if waiting and latest and latest.credits else ()
        if latest is not None and used:
            _add_line(
                block, ":hourglass_flowing_sand: " + _outdated(latest, used, invoice.amount_due)
            )
            pay["text"] = plain("Request approval", 75)
            continue
        if latest is not None and waiting:
            asked = moment(datetime.fromtimestamp(latest.created_at, UTC))
            credit = " (credit taken off)" if latest.netted else ""  # less than listed
            _add_line(
                block,
                f":hourglass_flowing_sand: Approval for {latest.amount.format()}{credit} "
                f"requested by <@{latest.requester}> {asked}; waiting for the approvers.",
            )
            pay["text"] = plain("View request", 75)
            continue
        holds = latest is not None and approvals.holds(team_id, latest, policy)
        if latest is None or not latest.valid(now) or not holds:
            pay["text"] = plain("Request approval", 75)


SECTION_CHARS = 3000
"""Slack refuses a message with a section text longer, and with it the whole list."""
NOTES_CHARS = 1000
"""The credit notes a pending request's line names, so the line leaves its invoice room."""


def _add_line(block: Block, line: str) -> None:
    """`line` under a section's text, the text cut (from its end, the description) so
    both stay within Slack's limit: the line says what the button now does."""
    room = SECTION_CHARS - len(line) - 1
    block["text"]["text"] = clip(block["text"]["text"], room, mrkdwn=True) + "\n" + line


def _outdated(request: Request, used: tuple[str, ...], due: Money) -> str:
    """What the pay menu says of a waiting request whose credit notes another payment
    used since: the provider takes them off no more, so it asks for another amount."""
    if set(used) == set(request.credits):
        return (
            f"A request for {request.amount.format()} is pending, but the amount is now "
            f"{due.format()}."
        )
    notes = clip(
        ", ".join(inline(number, NUMBER_CHARS) for number in used), NOTES_CHARS, mrkdwn=True
    )
    return (
        f"A request for {request.amount.format()} is pending, but credit {notes} it took "
        "off was used for another payment since, so the amount has changed."
    )
