"""From PingProxies' wire objects to the core's models: exact money, UTC times, one status.

PingProxies documents four invoice statuses (draft, open, paid, void) and integer cents.
Anything else is UNKNOWN, never payable, and logged for a human; a "paid" invoice that
still has cents remaining is UNKNOWN too, so no one is told it is settled when it is not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.models import Invoice, InvoiceStatus, PaymentMethod, PaymentOptions
from bot.money import Money
from plugins.pingproxies import wire

log = logging.getLogger(__name__)

PROVIDER_NAME = "pingproxies"
STATUSES = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}
SAVED_CARD = "saved_card"
REFUSED = "PingProxies does not allow this method for this invoice"
BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}


def money(cents: int, currency: str) -> Money:
    return Money.from_minor(cents, currency.upper())


def moment(text: str | None) -> datetime | None:
    """ "2024-06-01 12:00:00" (UTC, PingProxies' usual form) or ISO with a zone."""
    if not text:
        return None
    parsed = datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def paid_moment(
    item: wire.Invoice, then: str = "listing it paid without a time"
) -> datetime | None:
    """When PingProxies says the invoice was paid, or None when that cannot be read: its
    status and the cents remaining say paid, and a time in an unforeseen form (the field
    and its form are our guess) must neither hold a confirmation back nor hide the invoice."""
    try:
        return moment(item.invoice_paid_datetime)
    except (ValueError, OverflowError):  # not a time, or one before UTC's first moment
        log.warning(
            "PingProxies invoice %s has an unreadable invoice_paid_datetime %r; %s",
            item.invoice_number,
            item.invoice_paid_datetime,
            then,
        )
        return None


def status_of(item: wire.Invoice) -> InvoiceStatus:
    status = STATUSES.get(item.invoice_status.strip().lower())
    if status is None:
        log.warning(
            "PingProxies invoice %s has undocumented status %r; treating it as unknown",
            item.invoice_number,
            item.invoice_status,
        )
        return InvoiceStatus.UNKNOWN
    if status is InvoiceStatus.PAID and item.invoice_amount_remaining != 0:
        log.warning(
            "PingProxies invoice %s says paid but %d cents remain; treating it as unknown",
            item.invoice_number,
            item.invoice_amount_remaining,
        )
        return InvoiceStatus.UNKNOWN
    return status


def to_invoice(item: wire.Invoice) -> Invoice:
    currency = item.invoice_currency
    status = status_of(item)
    created = moment(item.invoice_creation_datetime)
    due = moment(item.invoice_due_datetime)
    return Invoice(
        provider=PROVIDER_NAME,
        id=item.invoice_id,
        number=item.invoice_number,
        description=item.invoice_description or "",
        amount_due=money(item.invoice_amount_remaining, currency),
        total_incl_vat=money(item.invoice_total, currency),
        total_excl_vat=(
            None if item.invoice_subtotal is None else money(item.invoice_subtotal, currency)
        ),
        created=created.date() if created else None,
        due=due.date() if due else None,
        paid_at=paid_moment(item) if status is InvoiceStatus.PAID else None,
        status=status,
        url=item.invoice_url,
    )


def method_name(option: wire.PaymentOption) -> str:
    """Saved cards read "Visa •••• 4242"; other methods keep PingProxies' name."""
    if option.payment_method_type != SAVED_CARD or not option.payment_method_card_last4:
        return option.payment_method_name
    brand = option.payment_method_card_brand or "Card"
    return f"{BRANDS.get(brand.lower(), brand.title())} •••• {option.payment_method_card_last4}"


def to_method(option: wire.PaymentOption, reason: str | None = None) -> PaymentMethod:
    return PaymentMethod(
        id=option.payment_method_id,
        name=method_name(option),
        selectable=reason is None,
        reason=reason,
        saved_card=option.payment_method_type == SAVED_CARD,
    )


def to_options(invoice: Invoice, offer: wire.PayOption) -> PaymentOptions:
    return PaymentOptions(
        provider=PROVIDER_NAME,
        invoices=[invoice],
        total=money(offer.invoice_amount_remaining, offer.invoice_currency),
        methods=[to_method(option) for option in offer.allowed_payment_methods]
        + [to_method(item, item.reason or REFUSED) for item in offer.disallowed_payment_methods],
    )
