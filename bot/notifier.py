"""The built-in plugin that tells Slack a payment landed.

It is a plain `payment_confirmed` hook, registered like any third-party plugin, so a
team that wants e-mail or an accounting export instead writes a plugin the same way.
It only enqueues: the outbox sends after the paid transition commits.
"""

from __future__ import annotations

from bot import hookimpl
from bot.hookspecs import Outbox
from bot.models import Payment, PaymentState
from bot.outbox import RESPONSE_URL, SETTLEMENT_EVENT
from bot.slack.blocks.paying import confirmation, failure_notice, settled

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
        billing_channel: str,
        provider_titles: dict[str, str],
        *,
        notify_failures: str = "receivables",
    ) -> None:
        self.billing_channel = billing_channel
        self.provider_titles = provider_titles
        self.failures_for = FAILURE_CHOICES[notify_failures]
        """Directions whose failed or cancelled payments the billing channel hears about."""

    @hookimpl
    def payment_confirmed(
        self, payment: Payment, outbox: Outbox, superseded: list[Payment]
    ) -> None:
        title = self.provider_titles.get(payment.provider, payment.provider)
        settlement = payment.settlement_id or payment.id
        outbox.enqueue(
            "chat.postMessage",
            {
                "channel": self.billing_channel,
                **confirmation(payment, title),
                "metadata": {
                    "event_type": SETTLEMENT_EVENT,
                    "event_payload": {"settlement_id": settlement, "payment_id": payment.id},
                },
            },
            key=f"confirmation:{settlement}",
        )
        for attempt in [payment, *superseded]:
            if attempt.response_url:
                shown = settled(attempt, paid_by=payment)
                outbox.enqueue(
                    RESPONSE_URL,
                    {"url": attempt.response_url, "body": {"replace_original": True, **shown}},
                    key=f"settled:{attempt.id}",
                )

    @hookimpl
    def payment_ended(self, payment: Payment, outbox: Outbox) -> None:
        if payment.response_url:
            outbox.enqueue(
                RESPONSE_URL,
                {
                    "url": payment.response_url,
                    "body": {"replace_original": True, **settled(payment)},
                },
                key=f"ended:{payment.id}",
            )
        if payment.direction in self.failures_for and payment.state in (
            PaymentState.FAILED,
            PaymentState.CANCELLED,
        ):
            title = self.provider_titles.get(payment.provider, payment.provider)
            outbox.enqueue(
                "chat.postMessage",
                {"channel": self.billing_channel, **failure_notice(payment, title)},
                key=f"failure:{payment.id}",
            )
