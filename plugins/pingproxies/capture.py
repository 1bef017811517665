"""When a saved-card charge goes unanswered: read the invoice instead of guessing.

A timeout, a dropped connection, a 5xx or an unreadable body after Invoice Pay does not
say whether the card was charged. Pay is never repeated; instead we retrieve the invoice
(a read, so retried as usual). Paid means the charge went through; a payment error means
it was declined; still open means most likely nothing happened, and the person is told
to look before paying again, because the core then lets them try once more.
"""

from __future__ import annotations

import logging

from bot.models import Captured, InvoiceStatus, PaymentMethod, StartedPayment
from bot.provider import PaymentRejected, ProviderError, ProviderUnavailable
from plugins.pingproxies import errors
from plugins.pingproxies.api import PingProxiesApi
from plugins.pingproxies.convert import status_of

log = logging.getLogger(__name__)


async def capture_unconfirmed(
    api: PingProxiesApi, invoice_id: str, method: PaymentMethod, failure: ProviderUnavailable
) -> StartedPayment:
    """`Captured` if the invoice shows paid; otherwise an error that says what to check."""
    log.warning("PingProxies did not confirm the charge on %s: %s", invoice_id, failure)
    try:
        item = await api.retrieve(invoice_id)
        with errors.reading("invoice retrieve"):
            status = status_of(item)
    except ProviderError as error:
        raise ProviderUnavailable(
            f"{failure} invoicebot could not tell whether {method.name} was charged "
            f"({error}): check invoice {invoice_id} at PingProxies before paying again."
        ) from None
    if status is InvoiceStatus.PAID:
        return StartedPayment(start=Captured())
    if item.invoice_last_payment_error:
        raise PaymentRejected(
            f"PingProxies declined {method.name}: {item.invoice_last_payment_error}"
        )
    raise ProviderUnavailable(
        f"{failure} Invoice {item.invoice_number} still shows {item.invoice_status}, so "
        f"{method.name} was most likely not charged; check the invoice at PingProxies "
        "before paying again."
    )
