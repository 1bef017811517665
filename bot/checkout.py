"""Starting a payment: every check happens again here, against fresh provider data.

What the Slack message showed (method, issuer, amount) is only what the user saw; the
provider's current options decide. Nothing starts when another payment of the same
invoice is still live, and a provider call that could charge is never retried.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.connections import Connections
from bot.models import (
    Captured,
    Emailed,
    Money,
    Payment,
    PaymentOptions,
    PaymentRequest,
    PaymentState,
)
from bot.payments import CUSTOMER_LINK_LIFETIME, UNSETTLED, Payments
from bot.provider import Direction, NotPayable, PaymentRejected, ProviderError
from bot.settlement import Settlement

log = logging.getLogger(__name__)


class CheckoutRefused(ProviderError):
    """The payment was not started; the message says why and what to do."""


@dataclass(frozen=True)
class Started:
    payment: Payment
    token: str
    pay_url: str
    lifetime: float
    """Seconds the pay link works for."""


@dataclass
class Checkout:
    connections: Connections
    payments: Payments
    settlement: Settlement
    public_url: str

    async def options(self, team_id: str, provider: str, invoice_ids: list[str]) -> PaymentOptions:
        options = await self.connections.get(team_id, provider).payment_options(invoice_ids)
        unpayable = [invoice.number for invoice in options.invoices if not invoice.payable]
        if unpayable:
            raise NotPayable(f"Invoice {', '.join(unpayable)} cannot be paid now (not open).")
        return options

    def _refuse_if_live(self, team_id: str, provider: str, invoice_ids: list[str]) -> None:
        for earlier in self.payments.store.payments_for_invoices(team_id, provider, invoice_ids):
            numbers = ", ".join(earlier.invoice_numbers)
            if earlier.state is PaymentState.PAID:
                raise CheckoutRefused(
                    f"Invoice {numbers} was already paid with invoicebot by <@{earlier.user_id}>."
                )
            if (
                earlier.state in UNSETTLED
                and self.payments.store.token_expiry(earlier.id) > time.time()
            ):
                raise CheckoutRefused(
                    f"<@{earlier.user_id}> already has a payment link for invoice {numbers} "
                    "that has not expired. Nothing was started, so nothing is paid twice."
                )

    async def start(
        self,
        *,
        team_id: str,
        user_id: str,
        provider: str,
        invoice_ids: list[str],
        method_id: str,
        issuer_id: str | None,
        expected: Money,
        channel_id: str | None = None,
        response_url: str | None = None,
    ) -> Started:
        options = await self.options(team_id, provider, invoice_ids)
        method = options.method(method_id)
        if method is None or not method.selectable:
            reason = method.reason if method else "the provider no longer offers it"
            raise PaymentRejected(f"That payment method cannot be used now: {reason}.")
        if method.issuers and issuer_id not in {issuer.id for issuer in method.issuers}:
            raise PaymentRejected(f"Choose your bank for {method.name} first.")
        if not method.issuers and issuer_id:
            raise PaymentRejected(f"{method.name} takes no bank; choose the method again.")
        if options.total != expected:
            raise CheckoutRefused(
                f"The amount changed from {expected} to {options.total} since the menu was "
                "shown. Nothing was paid; open the invoice again to see the new amount."
            )
        self._refuse_if_live(team_id, provider, invoice_ids)
        cls = self.connections.provider_class(provider)
        receivable = cls.capabilities.direction is Direction.RECEIVABLE
        lifetime = CUSTOMER_LINK_LIFETIME if receivable else self.payments.token_lifetime
        payment, token = self.payments.record(
            Payment(
                team_id=team_id,
                provider=provider,
                direction=cls.capabilities.direction.value,
                invoice_ids=tuple(invoice.id for invoice in options.invoices),
                invoice_numbers=tuple(invoice.number for invoice in options.invoices),
                amount=options.total,
                method_id=method.id,
                method_name=method.name,
                issuer_id=issuer_id,
                user_id=user_id,
                channel_id=channel_id,
                response_url=response_url,
            ),
            lifetime,
        )
        pay_url = f"{self.public_url}/pay/{token}"
        try:
            started = await self.connections.get(team_id, provider).start_payment(
                PaymentRequest(
                    invoice_ids=payment.invoice_ids,
                    method_id=method.id,
                    issuer_id=issuer_id,
                    amount=options.total,
                    reference=payment.id,
                    return_url=f"{self.public_url}/landing/{provider}",
                    token=token,
                )
            )
        except ProviderError as error:
            self.payments.move(payment.id, PaymentState.FAILED, last_error=error.message)
            raise
        self.payments.store.update_payment(
            payment.id,
            start=started.start.model_dump_json(),
            provider_reference=started.provider_reference,
        )
        self.payments.move(payment.id, PaymentState.LINK_ISSUED)
        self.settlement.schedule_first_check(payment.id)
        if isinstance(started.start, Captured):
            current = self.payments.store.payment(payment.id)
            assert current is not None
            await self.settlement.check(current)
        current = self.payments.store.payment(payment.id)
        assert current is not None
        return Started(current, token, pay_url, lifetime)

    async def send_by_email(
        self, *, team_id: str, user_id: str, provider: str, invoice_id: str, to: str | None
    ) -> Payment:
        """E-mail the invoice to its customer and watch for the payment like any other."""
        options = await self.options(team_id, provider, [invoice_id])
        (invoice,) = options.invoices
        address = await self.connections.get(team_id, provider).send_invoice(invoice.id, to)
        payment, _ = self.payments.record(
            Payment(
                team_id=team_id,
                provider=provider,
                direction=Direction.RECEIVABLE.value,
                invoice_ids=(invoice.id,),
                invoice_numbers=(invoice.number,),
                amount=options.total,
                method_id="email",
                method_name="e-mail",
                user_id=user_id,
                start=Emailed(to=address),
            ),
            CUSTOMER_LINK_LIFETIME,
        )
        self.payments.store.update_payment(payment.id, start=Emailed(to=address).model_dump_json())
        self.payments.move(payment.id, PaymentState.LINK_ISSUED)
        self.settlement.schedule_first_check(payment.id)
        current = self.payments.store.payment(payment.id)
        assert current is not None
        return current
