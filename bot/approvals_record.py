"""Approvals in the record: the export's `approvals` column and an invoice's history.

Read from the approval tables only; `bot.records` and `bot.history` list these as
sources beside their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.approvals import Approvals, Request, State
from bot.approvals_store import ApprovalStore
from bot.models import Payment
from bot.store import Store
from bot.text import one_line

if TYPE_CHECKING:
    from bot.history import Event, Subject


def approvals_for(store: Store, payment: Payment) -> list[tuple[str, str]]:
    """Who approved this payment and when, as (Slack user id, ISO time): the approval of
    exactly its invoices and total that was given before it started."""
    found = Approvals(store).behind(payment)
    if found is None:
        return []
    return [
        (str(decision["user_id"]), str(decision["at"]))
        for decision in ApprovalStore(store).decisions(found.id)
        if decision["decision"] == "approve"
    ]


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def asked_at(store: Store, team_id: str, number: str) -> set[str]:
    """The providers whose invoice printed `number` someone asked approval to pay: one
    may print it with no pay menu on record that says so (rows from before menus named
    their numbers)."""
    return {str(row["provider"]) for row in ApprovalStore(store).for_number(team_id, number)}


def approval_story(store: Store, subject: Subject) -> list[Event]:
    """Requests for approval of the invoice, each decision, and an expiry; each named
    with its provider when more than one prints the number, as payments are."""
    from bot.history import Event

    rows = ApprovalStore(store)
    events = []
    for row in rows.for_number(subject.team_id, subject.number):
        request = Request.model_validate(row)
        where = subject.named(request.provider)
        note = f" (“{one_line(request.note)}”)" if request.note else ""
        events.append(
            Event(
                _at(request.created_at),
                f":lock: {where}<@{request.requester}> asked for approval of "
                f"{request.amount.format()}{note}",
            )
        )
        for decision in rows.decisions(request.id):
            moment = datetime.fromisoformat(decision["at"])
            if decision["decision"] == "approve":
                text = f"<@{decision['user_id']}> approved"
            else:
                reason = one_line(decision["reason"] or "no reason given")
                text = f"<@{decision['user_id']}> rejected it: {reason}"
            events.append(Event(moment, f"{where}{text}"))
        if request.state is not State.EXPIRED:
            continue
        if len(request.approved_by) < request.needed and request.reason and request.decided_at:
            # Ended when the amount due changed (`Approvals.replace_outdated`), not later.
            reason = one_line(request.reason)
            text = f"{where}Replaced: {reason}; a new request asks for that"
            events.append(Event(_at(request.decided_at), text))
            continue
        approved = len(request.approved_by) >= request.needed
        what = "approval expired" if approved else "approval request expired before it was decided"
        # When it ran out, not when that was noticed.
        events.append(Event(_at(request.expires_at), f"{where}The {what}"))
    return events
