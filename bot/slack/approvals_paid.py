"""When a payment made under an approval is settled, the approval's DMs say it was paid.

Registered with the plugin manager beside the notifier: `payment_confirmed` runs inside
the settlement's transaction, so this only reads the approval and enqueues one chat.update
per DM, keyed per request and person, so it is rewritten once and a restart loses nothing.
"""

from __future__ import annotations

from bot import hookimpl
from bot.approvals import Approvals, Request
from bot.hookspecs import Outbox
from bot.models import Payment
from bot.slack.blocks.approvals import request_message


def decided_by(request: Request, viewer: str) -> str | None:
    """ "approve" or "reject" when `viewer` decided `request`, else None."""
    if viewer in request.approved_by:
        return "approve"
    return "reject" if viewer == request.rejected_by else None


class PaidApprovals:
    """Rewrites the requester's and approvers' DMs of the approval a settled payment
    was started under: paid, and no buttons left."""

    def __init__(self, approvals: Approvals, provider_titles: dict[str, str]) -> None:
        self.approvals = approvals
        self.provider_titles = provider_titles

    @hookimpl
    def payment_confirmed(
        self, payment: Payment, outbox: Outbox, superseded: list[Payment]
    ) -> None:
        request = self.approvals.behind(payment)
        if request is None:
            return
        title = self.provider_titles.get(request.provider, request.provider)
        for viewer, channel, ts in self.approvals.messages(request.id):
            shown = request_message(
                request, title, viewer, decided_by(request, viewer), paid=payment
            )
            outbox.enqueue(
                "chat.update",
                {"channel": channel, "ts": ts, **shown},
                key=f"approval-paid:{request.id}:{viewer}",
                team_id=request.team_id,
            )
