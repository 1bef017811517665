"""Asking a provider how a payment went, and recording the answer.

The landing route and the poller both call `Settlement.check`, so a payment that lands
while both are looking is still recorded once: the transition underneath is a
compare-and-set, and only its winner fires `payment_confirmed`.
"""

from __future__ import annotations

import logging
import time

from bot.connections import Connections
from bot.models import OutcomeStatus, Payment, PaymentCheck, PaymentOutcome, PaymentState
from bot.payments import Payments
from bot.provider import ProviderError
from bot.singleflight import SingleFlight
from bot.store import Store

log = logging.getLogger(__name__)


class Settlement:
    def __init__(
        self,
        payments: Payments,
        connections: Connections,
        *,
        first_delay: float = 5.0,
        max_delay: float = 300.0,
        give_up_after: float = 24 * 3600.0,  # after the link expires: money may land late
    ) -> None:
        self.payments = payments
        self.connections = connections
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.give_up_after = give_up_after
        self._checks: SingleFlight[None] = SingleFlight()

    @property
    def store(self) -> Store:
        return self.payments.store

    def schedule_first_check(self, payment_id: str) -> None:
        self.store.update_payment(
            payment_id, next_check_at=time.time() + self.first_delay, check_attempts=0
        )

    async def check(
        self, payment: Payment, landing_params: dict[str, str] | None = None
    ) -> Payment:
        """Ask the provider, apply what it says, and return the payment as it is now.

        Identical checks of one payment in flight at once (a browser reloading the
        landing page, the poller) share one question to the provider.
        """
        params = landing_params or {}
        asked = (payment.id, tuple(sorted(params.items())))
        await self._checks.run(asked, lambda: self._ask(payment, params))
        current = self.store.payment(payment.id)
        assert current is not None
        return current

    async def _ask(self, payment: Payment, landing_params: dict[str, str]) -> None:
        if payment.state is not PaymentState.PAID:
            try:
                provider = self.connections.get(payment.team_id, payment.provider)
                outcome = await provider.check_payment(
                    PaymentCheck(
                        invoice_ids=payment.invoice_ids,
                        amount=payment.amount,
                        reference=payment.id,
                        provider_reference=payment.provider_reference,
                        landing_params=landing_params,
                    )
                )
            except ProviderError as error:
                log.warning("could not check payment %s: %s", payment.id, error.message)
                outcome = PaymentOutcome(status=OutcomeStatus.PENDING, message=error.message)
            self.apply(payment, outcome)

    def apply(self, payment: Payment, outcome: PaymentOutcome) -> None:
        if outcome.status is OutcomeStatus.PAID:
            self.payments.confirm_paid(payment.id, outcome.paid_at)
        elif outcome.status is OutcomeStatus.FAILED:
            self.payments.move(payment.id, PaymentState.FAILED, last_error=outcome.message)
        elif outcome.status is OutcomeStatus.CANCELLED:
            self.payments.move(payment.id, PaymentState.CANCELLED, last_error=outcome.message)
        else:
            self._check_again_later(payment)

    def _check_again_later(self, payment: Payment) -> None:
        if time.time() > self.store.token_expiry(payment.id) + self.give_up_after:
            self.payments.move(payment.id, PaymentState.EXPIRED, last_error="no answer in time")
            return
        _, attempts = self.store.payment_schedule(payment.id)
        delay = min(self.max_delay, self.first_delay * 2**attempts)
        self.store.update_payment(
            payment.id, next_check_at=time.time() + delay, check_attempts=attempts + 1
        )
