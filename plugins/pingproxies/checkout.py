"""The rules around Invoice Pay and what it leaves behind.

Before paying we hold the request against fresh pay options, because pay is never
retried and a saved card is charged at once. Afterwards only the invoice itself can say
"paid"; its last payment error says "failed", and the landing's "cancelled" is believed
only while the invoice is still open (it can only make us stop waiting, never pay).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.kit.checks import chosen, is_web_address
from bot.models import (
    Captured,
    InvoiceStatus,
    OutcomeStatus,
    PaymentMethod,
    PaymentOptions,
    PaymentOutcome,
    PaymentRequest,
    Redirect,
    StartedPayment,
)
from bot.provider import ProviderError, ProviderUnavailable, RateLimited
from plugins.pingproxies import errors, wire
from plugins.pingproxies.convert import moment, status_of

CANCELLED = frozenset({"cancelled", "canceled", "cancel"})
NOTHING_CHARGED = "Nothing was charged."


def choose(options: PaymentOptions, request: PaymentRequest) -> PaymentMethod:
    """The method to pay with, or `PaymentRejected` saying what changed since the menu."""
    method, _ = chosen(options, request, title="PingProxies", after=NOTHING_CHARGED)
    return method


def not_sent(error: ProviderUnavailable) -> ProviderError:
    """A read before Invoice Pay that failed: nothing was sent that could charge.

    `ProviderUnavailable` from `start_payment` tells the core a saved card may have been
    charged (the attempt turns unknown and blocks the invoice), so this is a plain
    `ProviderError` saying nothing happened and to try again.
    """
    if isinstance(error, RateLimited):
        return RateLimited(f"{error} {NOTHING_CHARGED}", error.retry_after)
    text = f"{error} {NOTHING_CHARGED}"
    return ProviderError(text if "again" in text.lower() else f"{text} Try again in a few minutes.")


def started(result: wire.PayResult, method: PaymentMethod) -> StartedPayment:
    """A redirect URL to send the payer to, or a capture that already happened."""
    reference = result.payment_transaction_id
    if result.payment_type == "capture":
        return StartedPayment(start=Captured(), provider_reference=reference)
    url = result.payment_redirect_url or ""
    if not is_web_address(url):
        raise errors.unreadable(
            "invoice pay",
            f"payment_redirect_url {result.payment_redirect_url!r} is not a web address "
            f"for {method.name}",
        )
    return StartedPayment(start=Redirect(url=url), provider_reference=reference)


def outcome(item: wire.Invoice, landing: Mapping[str, str]) -> PaymentOutcome:
    """What the invoice says about the payment; PAID only when PingProxies says paid."""
    status = status_of(item)
    number = item.invoice_number
    if status is InvoiceStatus.PAID:
        return PaymentOutcome(
            status=OutcomeStatus.PAID,
            message=f"PingProxies shows {number} as paid.",
            paid_at=moment(item.invoice_paid_datetime),
        )
    if status is InvoiceStatus.VOID:
        return PaymentOutcome(
            status=OutcomeStatus.FAILED,
            message=f"PingProxies voided invoice {number}; it will not be paid.",
        )
    if status is InvoiceStatus.OPEN and item.invoice_last_payment_error:
        return PaymentOutcome(
            status=OutcomeStatus.FAILED,
            message=f"PingProxies could not take the payment: {item.invoice_last_payment_error}",
        )
    if status is InvoiceStatus.OPEN and landing.get("status", "").lower() in CANCELLED:
        return PaymentOutcome(
            status=OutcomeStatus.CANCELLED,
            message=f"The payment for {number} was cancelled on the payment page. "
            f"{NOTHING_CHARGED}",
        )
    return PaymentOutcome(
        status=OutcomeStatus.PENDING,
        message=f"Waiting for PingProxies to confirm the payment of {number}.",
    )
