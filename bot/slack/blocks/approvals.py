"""Approvals in Slack: the request dialog, the approver's and requester's messages, the
reject dialog, the admins' settings dialog, and the billing channel's thread lines."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.access import refusal
from bot.approvals import Outcome, Request, State
from bot.approvals_policy import Bracket, Policy, approvals_phrase
from bot.models import Payment
from bot.slack import values
from bot.slack.blocks.kit import (
    NUMBER_CHARS,
    Block,
    Ids,
    actions,
    button,
    context,
    escape,
    fields,
    header,
    inline,
    md,
    moment,
    plain,
    section,
)
from bot.slack.blocks.paying import method_of

REQUEST_APPROVAL = "request_approval"
APPROVE = "approval_approve"
REJECT = "approval_reject"
OPEN_SETTINGS = "approval_settings"
REQUEST_VIEW = "approval_request"
REJECT_VIEW = "approval_reject_reason"
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
NOTE_LIMIT = 500
REQUEST_REFUSAL = refusal("request approvals")
SETTINGS_REFUSAL = (
    "Only invoicebot admins can change the approval settings, so nothing was changed. "
    "Ask one of them."
)


def _people(users: list[str] | tuple[str, ...], last: str = "and") -> str:
    mentions = [f"<@{user}>" for user in users]
    if len(mentions) <= 1:
        return "".join(mentions) or "nobody"
    return f"{', '.join(mentions[:-1])} {last} {mentions[-1]}"


def _until(timestamp: float) -> str:
    return moment(datetime.fromtimestamp(timestamp, UTC))


def who_may_approve(bracket: Bracket) -> str:
    """ "<@U1>, <@U2> or the <!subteam^S1> group", for a bracket's approvers."""
    named = [f"<@{u}>" for u in bracket.users] + [f"<!subteam^{g}>" for g in bracket.groups]
    return " or ".join([", ".join(named[:-1]), named[-1]]) if len(named) > 1 else "".join(named)


def rule_line(bracket: Bracket) -> str:
    return (
        f"Payments of {bracket.floor.format()} and above need "
        f"{approvals_phrase(bracket.needed)} ({who_may_approve(bracket)})."
    )


def gated(
    menu: dict[str, Any], target: values.PayTarget, bracket: Bracket, why: str, *, ask: bool
) -> None:
    """Turn a pay menu into a request for approval, in place: the invoices and total
    stay, the ways to pay give way to **Request approval** (`ask`; else only Back, while
    a request for the same payment waits)."""
    for block in menu["blocks"]:
        if block.get("type") == "actions" and block["block_id"].startswith("pay:"):
            request = button("Request approval", REQUEST_APPROVAL, target.encode(), style="primary")
            back = button("Back to the list", values.BACK, target.encode())
            block["elements"] = [request, back] if ask else [back]
    ids = Ids()
    where = next(i for i, b in enumerate(menu["blocks"]) if b.get("type") == "actions")
    said = " ".join(part for part in (rule_line(bracket), why) if part)
    menu["blocks"].insert(where, section(ids, f":lock: {said}"))
    menu["blocks"] = [b for b in menu["blocks"] if not _is_unavailable_note(b)]


def _is_unavailable_note(block: Block) -> bool:
    return block.get("type") == "context" and any(
        str(e.get("text", "")).startswith("Not available now") for e in block["elements"]
    )


def _summary(request: Request, title: str) -> list[tuple[str, str]]:
    word = "Invoice" if len(request.invoice_numbers) == 1 else "Invoices"
    pairs = [
        (word, ", ".join(inline(number, NUMBER_CHARS) for number in request.invoice_numbers)),
        ("Amount", request.amount.format() + (f" ({request.netted})" if request.netted else "")),
        ("Provider", escape(title)),
        ("Due", escape(request.due or "—")),
        ("Requested by", f"<@{request.requester}>"),
    ]
    if request.note:
        pairs.append(("Note", escape(request.note)))
    return pairs


def _approved_by(request: Request) -> str:
    return f":white_check_mark: Approved by {_people(request.approved_by)}."


UNDER_WAY = (
    "A payment started while it was good was still under way then: if it goes through, "
    "this message says so; if not, request approval again to pay."
)
"""Said of an approval that ran out while a payment made under it could still take the
money (a link out, a page open, a charge not confirmed): not "nothing was paid". True
whatever that payment's outcome, since only a paid one rewrites the message."""


def status_line(request: Request, *, under_way: bool = False) -> str:
    if request.state is State.APPROVED:
        return f"{_approved_by(request)} Good for this amount until {_until(request.expires_at)}."
    if request.state is State.REJECTED:
        return (
            f":x: Rejected by <@{request.rejected_by}>: {escape(request.reason or 'no reason')}."
            " Nothing was paid."
        )
    if request.state is State.EXPIRED and request.reason and not was_approved(request):
        return (
            f":heavy_minus_sign: Replaced: {escape(request.reason)}, and a new request asks "
            "for that. Nothing was paid through this one."
        )
    if request.state is State.EXPIRED:
        if under_way and was_approved(request):
            return f":heavy_minus_sign: This approval has expired. {UNDER_WAY}"
        what = "approval" if was_approved(request) else "request was not decided in time and"
        return (
            f":heavy_minus_sign: This {what} has expired; nothing was paid through it. "
            "Request approval again to pay."
        )
    so_far = len(request.approved_by)
    # Who approved already is said once, as done; only the others may still approve.
    left = [user for user in request.approvers if user not in request.approved_by]
    if so_far:
        who = f"Approved by {_people(request.approved_by)}; {_people(left, 'or')} may still approve"
    else:
        who = f"{'Any of ' if len(left) > 1 else ''}{_people(left, 'or')} may approve"
    return (
        f":hourglass_flowing_sand: Needs {approvals_phrase(request.needed)} "
        f"({so_far} of {request.needed}). {who}. "
        f"Open until {_until(request.expires_at)}."
    )


def paid_line(payment: Payment) -> str:
    when = moment(payment.paid_at) if payment.paid_at else "now"
    return (
        f":moneybag: Paid by <@{payment.user_id}> {when} ({method_of(payment)}). "
        "Nothing is left to do here."
    )


def request_message(
    request: Request,
    title: str,
    viewer: str,
    decided: str | None = None,
    *,
    paid: Payment | None = None,
    under_way: bool = False,
) -> dict[str, Any]:
    """The request as `viewer` sees it in their DM; `decided` is "approve" or "reject"
    when the viewer has decided; `paid` is the payment that settled it. Buttons only
    while the viewer can still act."""
    ids = Ids()
    heading = {
        State.PENDING: "Approval requested",
        State.APPROVED: "Payment approved",
        State.REJECTED: "Payment rejected",
        State.EXPIRED: "Approval expired",
    }[request.state]
    if request.state is State.EXPIRED and not was_approved(request):
        # never approved: it ran out undecided, or was replaced for a new amount
        heading = "Request replaced" if request.reason else "Request expired"
    if paid is not None:
        heading = "Invoice paid" if len(request.invoice_numbers) == 1 else "Invoices paid"
    mine = viewer == request.requester
    lead = (
        f"You asked for approval to pay {escape(title)} {_invoices(request)}."
        if mine
        else f"<@{request.requester}> asks you to approve paying {escape(title)} "
        f"{_invoices(request)}."
    )
    blocks: list[Block] = [
        header(ids, heading),
        section(ids, lead),
        fields(ids, _summary(request, title)),
        section(ids, status_line(request, under_way=under_way)),
    ]
    if paid is not None:
        blocks[-1] = section(ids, f"{_approved_by(request)}\n{paid_line(paid)}")
    if paid is None and request.state is State.PENDING and not mine and decided is None:
        blocks.append(
            actions(
                ids,
                [
                    button("Approve", APPROVE, request.id, style="primary"),
                    button("Reject", REJECT, request.id, style="danger"),
                ],
                name="decide",
            )
        )
    elif decided is not None and not mine:
        said = "approved" if decided == "approve" else "rejected"
        blocks.append(context(ids, f"You {said} this request."))
    if paid is None and request.state is State.APPROVED and mine:
        target = values.PayTarget(request.provider, request.invoice_ids).encode()
        pay = button("Pay", values.PAY_APPROVED, target, style="primary")
        blocks.append(actions(ids, [pay]))
        blocks.append(context(ids, "You, or any payer from the list, can pay it now."))
    elif paid is None and request.state is State.APPROVED:
        # An approver need not be a payer: the Pay button is the requester's, and payers
        # among the approvers pay from the list like anyone else.
        blocks.append(
            context(ids, f"<@{request.requester}> or any payer can pay it now from the list.")
        )
    text = f"{heading}: {escape(title)} {_invoices(request)}, {request.amount.format()}"
    return {"text": text, "blocks": blocks}


def _invoices(request: Request) -> str:
    numbers = [inline(n, NUMBER_CHARS) for n in request.invoice_numbers]
    if len(numbers) == 1:
        return f"invoice {numbers[0]}"
    # "and", as a payment's messages say: "A, B, €1,815.00" would read as three items
    return f"invoices {', '.join(numbers[:-1])} and {numbers[-1]}"


OUTCOME_WORDS = {
    Outcome.REPEATED: "You already decided on this request; it counts once.",
    Outcome.CLOSED: "This request is already decided, so nothing changed.",
    Outcome.EXPIRED: "This request has expired, so nothing changed. The requester can ask again.",
    Outcome.OWN: "You cannot approve or reject your own request, so nothing changed.",
    Outcome.NOT_APPROVER: "You are not one of the approvers of this request, so nothing changed.",
}


def thread_line(
    request: Request, outcome: Outcome, user_id: str | None, *, under_way: bool = False
) -> str:
    """What the billing channel's thread under the request hears; `under_way`: a payment
    made under an approval that expired may still take the money."""
    if outcome is Outcome.COUNTED:
        return (
            f":ballot_box_with_check: <@{user_id}> approved "
            f"({len(request.approved_by)} of {request.needed})."
        )
    if outcome is Outcome.APPROVED:
        return f":white_check_mark: Approved by {_people(request.approved_by)}."
    if outcome is Outcome.REJECTED:
        return f":x: Rejected by <@{user_id}>: {escape(request.reason or 'no reason')}."
    if was_approved(request) and under_way:
        return (
            ":heavy_minus_sign: The approval expired while a payment started under it was "
            "still under way."
        )
    if was_approved(request):
        return ":heavy_minus_sign: The approval expired without a payment."
    if request.reason:  # replaced before anyone decided (see `Approvals.replace_outdated`)
        return (
            f":heavy_minus_sign: Replaced: {escape(request.reason)}; a new request asks for that."
        )
    return ":heavy_minus_sign: The request expired before enough people approved it."


def thread_line_alone(request: Request, title: str, line: str) -> str:
    """`line` for a channel with no thread to put it in (the request's post was refused):
    it names the request it is about."""
    return (
        f"{line} (<@{request.requester}>'s request for approval to pay {escape(title)} "
        f"{_invoices(request)}: *{request.amount.format()}*)"
    )


def was_approved(request: Request) -> bool:
    return len(request.approved_by) >= request.needed


def billing_root(request: Request, title: str) -> dict[str, Any]:
    ids = Ids()
    text = (
        f":lock: <@{request.requester}> asks for approval to pay {escape(title)} "
        f"{_invoices(request)}: *{request.amount.format()}*"
        + (f" ({request.netted})" if request.netted else "")
    )
    blocks = [section(ids, text), fields(ids, _summary(request, title)[3:])]
    return {"text": text, "blocks": blocks}


def _modal(
    callback_id: str, title: str, submit: str, blocks: list[Block], metadata: dict[str, str]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _text_input(block_id: str, label: str, *, optional: bool) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": NOTE_LIMIT,
    }
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": element,
    }


def request_modal(
    target: values.PayTarget, what: str, rule: str, url: str | None
) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "section", "block_id": "what", "text": md(what)},
        {"type": "context", "block_id": "rule", "elements": [md(rule)]},
        _text_input("note", "Note for the approvers", optional=True),
    ]
    metadata = {"target": target.encode(), **({"url": url} if url else {})}
    return _modal(REQUEST_VIEW, "Request approval", "Send request", blocks, metadata)


def reject_modal(request: Request, title: str) -> dict[str, Any]:
    what = f"Reject paying {escape(title)} {_invoices(request)} ({request.amount.format()})?"
    blocks: list[Block] = [
        {"type": "section", "block_id": "what", "text": md(what)},
        _text_input("reason", "Reason (the requester reads it)", optional=False),
    ]
    return _modal(REJECT_VIEW, "Reject payment", "Reject", blocks, {"request": request.id})


def policy_lines(policy: Policy) -> str:
    """Each bracket that asks for approval as a sentence, and how long one lasts."""
    rules = [f"• {escape(b.provider)}: {rule_line(b)}" if b.provider else f"• {rule_line(b)}"
             for b in policy.brackets if b.needed]  # fmt: skip
    if not rules:
        return "No payment needs approval."
    # Brackets are per currency and nothing is converted: say what passes freely.
    ruled = sorted({b.currency for b in policy.brackets if b.needed})
    named = ", ".join(ruled[:-1]) + f" or {ruled[-1]}" if len(ruled) > 1 else ruled[0]
    others = f"Payments in any other currency than {named} need no approval, however large."
    return "\n".join([*rules, others, f"An approval is good for {policy.hours:g} hours."])


def settings_saved(policy: Policy) -> str:
    return f"Saved. From now on:\n{policy_lines(policy)}"


def _home_line(request: Request, titles: dict[str, str], *, own: bool = False) -> str:
    """`own`: under the requester's own heading, which already says who asked."""
    title = escape(titles.get(request.provider, request.provider))
    asker = "" if own else f"asked by <@{request.requester}> · "
    return (
        f"*{', '.join(inline(n, NUMBER_CHARS) for n in request.invoice_numbers)}* · "
        f"{request.amount.format()} · {title} · "
        f"{asker}{len(request.approved_by)} of {request.needed} "
        f"approval{'s' if request.needed != 1 else ''}"
    )


def home_section(
    policy: Policy, requests: list[Request], user_id: str, *, admin: bool, titles: dict[str, str]
) -> list[Block]:
    """App Home's approvals: the rules, what waits for this person, their own requests,
    and for admins the way to the settings dialog."""
    ids = Ids()
    blocks: list[Block] = [header(ids, "Approvals"), section(ids, policy_lines(policy))]
    waiting = [r for r in requests if r.requester != user_id and user_id not in r.approved_by]
    mine = [r for r in requests if r.requester == user_id]
    if waiting:
        lines = "\n".join(_home_line(r, titles) for r in waiting)
        blocks.append(section(ids, f"*Waiting for your approval*\n{lines}"))
        blocks.append(context(ids, "Approve or reject in your messages with invoicebot."))
    if mine:
        lines = "\n".join(_home_line(r, titles, own=True) for r in mine)
        blocks.append(section(ids, f"*Your requests waiting for approval*\n{lines}"))
    if admin:
        blocks.append(actions(ids, [button("Approval settings", OPEN_SETTINGS)], name="settings"))
    return blocks
