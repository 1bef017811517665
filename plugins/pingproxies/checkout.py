"""The rules around Invoice Pay and what it leaves behind.

Before paying we hold the request against fresh pay options, because pay is never
retried and a saved card is charged at once. Afterwards only the invoice itself can say
"paid"; its last payment error says "failed". The landing's "cancelled" is believed only
while the invoice is still open and only from a return that names this payment's
checkout (the core keeps watching a cancel); its "failed" is never believed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.kit.checks import chosen, is_web_address
from bot.models import (
    Captured,
    InvoiceStatus,
    OutcomeStatus,
    PaymentCheck,
    PaymentMethod,
    PaymentOptions,
    PaymentOutcome,
    PaymentRequest,
    Redirect,
    StartedPayment,
)
from bot.provider import ProviderError, ProviderUnavailable, RateLimited
from plugins.pingproxies import errors, wire
from plugins.pingproxies.convert import paid_moment, status_of

log = logging.getLogger(__name__)

CANCELLED = frozenset({"cancelled", "canceled", "cancel"})
FAILED_RETURNS = frozenset({"failed", "failure", "declined", "error"})
"""What a return from the payment page may say of a payment that did not go through."""
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
        # The address only in the log: what it holds (a parenthesis, say) is no one's to read.
        log.warning("PingProxies named payment_redirect_url %r", result.payment_redirect_url)
        raise errors.unreadable(
            "invoice pay", f"payment_redirect_url is not a web address for {method.name}"
        )
    return StartedPayment(start=Redirect(url=url), provider_reference=reference)


def stranger(landing: Mapping[str, str], invoice_id: str, reference: str | None) -> str | None:
    """Why the browser's return is another payment's, or None when it may be this one's.

    The landing finds the payment by a cookie naming the last pay link that browser
    opened, so a page left open in another tab comes back under a later payment; the
    return's own `invoice_id` and `checkout_id` say which payment it really is about.
    """
    said = landing.get("invoice_id", "").strip()
    if said and said != invoice_id:
        return f"it names invoice {said!r}, not {invoice_id}"
    said = landing.get("checkout_id", "").strip()
    if said and reference and said != reference:
        return f"it names checkout {said!r}, not {reference}"
    return None


def outcome(item: wire.Invoice, check: PaymentCheck, standing: str | None = None) -> PaymentOutcome:
    """What the invoice says about the payment; PAID only when PingProxies says paid.

    A return that is another payment's is left out: only the invoice then decides.
    `standing`: the invoice's last payment error when this attempt started ("" for none;
    None when this process does not know, after a restart). PingProxies keeps an
    invoice's last error until another attempt replaces it, so only an error that is not
    the standing one is taken as this attempt's failure; unknown, the error is only
    mentioned while waiting, and so is a return saying it failed.
    """
    status = status_of(item)
    number = item.invoice_number
    landing = check.landing_params
    problem = stranger(landing, item.invoice_id, check.provider_reference)
    if problem:
        log.warning(
            "PingProxies return landed on payment %s but is another payment's (%s); ignored",
            check.reference,
            problem,
        )
        landing = {}
    if status is InvoiceStatus.PAID:
        return PaymentOutcome(
            status=OutcomeStatus.PAID,
            message=f"PingProxies shows {number} as paid.",
            paid_at=paid_moment(item, "recording it paid now"),
        )
    if status is InvoiceStatus.VOID:
        return PaymentOutcome(  # no attempt on a void invoice can be paid: it ends them all
            status=OutcomeStatus.FAILED,
            message=f"PingProxies voided invoice {number}; it will not be paid.",
            attributed=True,
        )
    error = item.invoice_last_payment_error
    said = landing.get("status", "").lower()
    new_error = bool(error) and standing is not None and error != standing
    # A return counts as this attempt's own word only when it names the attempt's
    # checkout, which only its page knows: any other site can send the payer's browser
    # to the return (the cookie goes along) saying "failed" or "cancelled" while the
    # real page is still open, taking the money.
    reference = check.provider_reference
    own_return = bool(reference) and landing.get("checkout_id", "").strip() == reference
    # Not on another payment's return: the core takes a failure read as a browser comes
    # back as that page's own, and one on another's return may be another card's. The
    # return's own "failed" is only the browser's word (its parameters are not
    # documented, and whoever holds the page's address can type them), and a failure
    # ends the payment for good: only PingProxies' own record of an error counts.
    failed = not problem and new_error
    if status is InvoiceStatus.OPEN and failed:
        return PaymentOutcome(
            status=OutcomeStatus.FAILED,
            message=f"PingProxies could not take the payment: {error}",
        )
    if status is InvoiceStatus.OPEN and said in CANCELLED and own_return:
        # Only the browser says so: the page can still take the money after its Cancel,
        # so the core keeps watching and nothing is promised about the card.
        return PaymentOutcome(
            status=OutcomeStatus.CANCELLED,
            message=f"The payment for {number} was cancelled on the payment page.",
        )
    if (
        status is InvoiceStatus.OPEN
        and not problem
        and (said in FAILED_RETURNS or said in CANCELLED)
    ):
        word = "failed" if said in FAILED_RETURNS else "was cancelled"
        return PaymentOutcome(
            status=OutcomeStatus.PENDING,
            message=(
                f"The payment page said the payment of {number} {word}, but PingProxies does "
                "not show that: waiting for PingProxies to confirm either way."
            ),
            invoice_unpaid=True,
        )
    unmatched = "The payment page returned news of another payment. " if problem else ""
    earlier = f" (it shows a payment error that may be an earlier one's: {error})" if error else ""
    return PaymentOutcome(
        status=OutcomeStatus.PENDING,
        message=f"{unmatched}Waiting for PingProxies to confirm the payment of {number}{earlier}.",
        invoice_unpaid=status is InvoiceStatus.OPEN,
    )
