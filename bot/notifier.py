"""The built-in plugin that tells Slack a payment landed.

It is a plain `payment_confirmed` hook, registered like any third-party plugin, so a
team that wants e-mail or an accounting export instead writes a plugin the same way.
It only enqueues: the outbox sends after the paid transition commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot import hookimpl
from bot.hookspecs import Outbox
from bot.models import Emailed, Payment, PaymentState
from bot.outbox import INSTEAD, RESPONSE_URL, SETTLEMENT_EVENT, to_admins
from bot.provider import Direction
from bot.slack.blocks.paying import (
    confirmation,
    emailed_in_doubt,
    failure_notice,
    link_cut_short,
    paid_twice_notice,
    return_unanswered_notice,
    settled,
)

log = logging.getLogger(__name__)

FAILURE_CHOICES = {
    "payables": {"payable"},
    "receivables": {"receivable"},
    "both": {"payable", "receivable"},
    "none": set(),
}


class SlackNotifier:
    """Posts the confirmation to the billing channel and settles the payers' messages."""

    def __init__(
        self,
        billing_channel: str | Callable[[str], str | None],
        provider_titles: dict[str, str],
        *,
        notify_failures: str = "receivables",
    ) -> None:
        """`billing_channel` is one channel, or each workspace's (None: not chosen yet)."""
        self.billing_channel = billing_channel
        self.provider_titles = provider_titles
        self.failures_for = FAILURE_CHOICES[notify_failures]
        """Directions whose failed or cancelled payments the billing channel hears about."""

    def _channel(self, team_id: str) -> str | None:
        if isinstance(self.billing_channel, str):
            return self.billing_channel
        channel = self.billing_channel(team_id)
        if channel is None:
            log.warning("workspace %s has no billing channel: nothing posted there", team_id)
        return channel

    @hookimpl
    def payment_confirmed(
        self, payment: Payment, outbox: Outbox, superseded: list[Payment]
    ) -> None:
        title = self.provider_titles.get(payment.provider, payment.provider)
        settlement = payment.settlement_id or payment.id
        channel = self._channel(payment.team_id)
        if channel is not None:
            metadata = {
                "event_type": SETTLEMENT_EVENT,
                "event_payload": {"settlement_id": settlement, "payment_id": payment.id},
            }
            record = {**confirmation(payment, title), "metadata": metadata}
            _to_billing(outbox, channel, record, f"confirmation:{settlement}", payment)
        for attempt in [payment, *superseded]:
            if attempt.response_url:
                shown = settled(attempt, paid_by=payment)
                # An end still checked (a charge read as declined, a cancel the browser
                # reported) was promised word of its money: that the check stopped is
                # told like an outcome, not only where the message's URL still works.
                told = attempt is payment or attempt.state is not PaymentState.SUPERSEDED
                _settle(outbox, attempt, shown, f"settled:{attempt.id}", told)

    @hookimpl
    def payment_paid_twice(self, payment: Payment, outbox: Outbox, certain: bool) -> None:
        """Someone must refund it: #billing hears (else whoever sent a customer's link),
        and the payer's message no longer says nothing was charged through it."""
        title = self.provider_titles.get(payment.provider, payment.provider)
        notice = paid_twice_notice(payment, title, certain=certain)
        key = f"paid-twice:{payment.id}:notice"
        if (channel := self._channel(payment.team_id)) is not None:
            _to_billing(outbox, channel, notice, key, payment)
        else:
            outbox.enqueue(
                "chat.postMessage",
                {"channel": payment.user_id, **notice},
                key=key,
                team_id=payment.team_id,
            )
        if payment.response_url:
            _settle(outbox, payment, settled(payment), f"paid-twice:{payment.id}", True)

    @hookimpl
    def payment_in_doubt(self, payment: Payment, outbox: Outbox) -> None:
        """A charge cut short by a stop: its payer reads "Asking…" until told it is not
        known yet and not to pay again. A link's start that was cut short ends at its
        first check, and that end is told instead; with no message for that end to
        replace (a customer's link, which comes below the list), its clicker, told "the
        answer comes below", hears here that none was made."""
        if payment.charges_at_once:
            _tell_payer(outbox, payment, f"in-doubt:{payment.id}")
        elif isinstance(payment.start, Emailed):
            # Its sender's dialog still says "Asking the provider to send it…", and a
            # second send could e-mail the customer twice.
            title = self.provider_titles.get(payment.provider, payment.provider)
            outbox.enqueue(
                "chat.postMessage",
                {"channel": payment.user_id, "text": emailed_in_doubt(payment, title)},
                key=f"in-doubt:{payment.id}",
                team_id=payment.team_id,
            )
        elif payment.response_url is None:
            title = self.provider_titles.get(payment.provider, payment.provider)
            outbox.enqueue(
                "chat.postMessage",
                {"channel": payment.user_id, "text": link_cut_short(payment, title)},
                key=f"in-doubt:{payment.id}",
                team_id=payment.team_id,
            )

    @hookimpl
    def payment_ended(self, payment: Payment, outbox: Outbox) -> None:
        # Ended with its money's fate unknown: a charge given up on, or a page the payer
        # opened that the provider never confirmed either way. (An e-mailed invoice left
        # unpaid for its whole watch is an unpaid invoice, not money in doubt.)
        unconfirmed = (
            payment.state is PaymentState.EXPIRED
            and payment.could_have_taken_money
            and not isinstance(payment.start, Emailed)
        )
        # Keyed by the end too: a cancel still watched can end again, never confirmed
        # for some of its invoices once the provider lists the others paid.
        ended = f"ended:{payment.id}:{payment.state.value}"
        if unconfirmed and payment.charges_at_once:
            _tell_payer(outbox, payment, ended)
        elif payment.response_url:
            # Never confirmed is told like failed: a watch ends a day after the link,
            # when the message's response URL has long worn out.
            told = unconfirmed or payment.state in (PaymentState.FAILED, PaymentState.CANCELLED)
            _settle(outbox, payment, settled(payment), ended, told)
        title = self.provider_titles.get(payment.provider, payment.provider)
        if unconfirmed:
            # Not a failure: the card may have been charged. Whatever failures the
            # channel hears of, money of unknown fate is its to check.
            if (channel := self._channel(payment.team_id)) is not None:
                notice = failure_notice(payment, title)
                _to_billing(outbox, channel, notice, f"unconfirmed:{payment.id}", payment)
            return
        if payment.state not in (PaymentState.FAILED, PaymentState.CANCELLED):
            return
        channel = self._channel(payment.team_id) if payment.direction in self.failures_for else None
        if channel is not None:
            _to_billing(
                outbox, channel, failure_notice(payment, title), f"failure:{payment.id}", payment
            )
        elif payment.direction == Direction.RECEIVABLE.value:
            # #billing will not hear, and the message the link came in cannot tell it
            # either (a copied link's is a new message; a response URL lasts 30 minutes,
            # a customer's link days): whoever sent the customer the link or invoice
            # hears, in their messages with the app.
            outbox.enqueue(
                "chat.postMessage",
                {"channel": payment.user_id, **failure_notice(payment, title)},
                key=f"failure:{payment.id}",
                team_id=payment.team_id,
            )

    @hookimpl
    def payment_return_unanswered(self, payment: Payment, outbox: Outbox, settled: bool) -> None:
        """Money of unknown fate, whatever failures the channel hears of: #billing (or
        the admins) must check the provider before anyone pays again, or (`settled`) for
        a second payment to refund."""
        title = self.provider_titles.get(payment.provider, payment.provider)
        notice = return_unanswered_notice(payment, title, settled=settled)
        key = f"return-unanswered:{payment.id}"
        if (channel := self._channel(payment.team_id)) is not None:
            _to_billing(outbox, channel, notice, key, payment)
        else:  # no billing channel chosen: whoever started it (or sent the link) hears
            outbox.enqueue(
                "chat.postMessage",
                {"channel": payment.user_id, **notice},
                key=key,
                team_id=payment.team_id,
            )


def _to_billing(
    outbox: Outbox, channel: str, message: dict[str, Any], key: str, payment: Payment
) -> None:
    """Post to the billing channel. Must it refuse the post for good (the bot is not in
    it, it was archived or deleted), the admins get it in a DM instead, or with no admin
    the payer (or whoever sent a customer the link): a confirmation is never lost."""
    outbox.enqueue(
        "chat.postMessage",
        {"channel": channel, **message, INSTEAD: to_admins(payment.user_id)},
        key=key,
        team_id=payment.team_id,
    )


def _tell_payer(outbox: Outbox, payment: Payment, key: str) -> None:
    """A charge's payer waits to hear how it ended. With no message to replace (a start
    made without a response URL, or one whose sealed URL can no longer be opened), the
    outcome comes in their messages with the app, under the same key: told once."""
    if payment.response_url:
        _settle(outbox, payment, settled(payment), key, True)
        return
    outbox.enqueue(
        "chat.postMessage",
        {"channel": payment.user_id, **settled(payment)},
        key=key,
        team_id=payment.team_id,
    )


def _settle(outbox: Outbox, payment: Payment, shown: dict[str, Any], key: str, tell: bool) -> None:
    """Replace the payer's message with the outcome. Its response URL lasts 30 minutes
    and 5 uses, and a payment often ends later (a link lasts 30 minutes after the click,
    a bank can take longer), so an outcome the payer must hear of (`tell`: paid, failed,
    never confirmed) comes in their messages with the app when Slack refuses the URL.
    Receivables' failures have their own notice, and an unused link just expires."""
    args: dict[str, Any] = {
        "url": payment.response_url,
        "body": {"replace_original": True, **shown},
    }
    if tell and payment.direction == Direction.PAYABLE.value:
        args["instead"] = {"channel": payment.user_id, **shown}
    outbox.enqueue(RESPONSE_URL, args, key=key, team_id=payment.team_id)
