"""From i3D's wire objects to the core's models: exact money, dates and a normalised status.

i3D documents no meanings for `paymentStatus`. We take 0 as open and 1 as paid (the
legacy v2 API's values) and demand that `remainingAmount` agrees before calling an
invoice paid; where the two disagree, or for any other value, it is UNKNOWN, never
payable, and logged for a human.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from functools import lru_cache

from bot.models import Invoice, InvoiceStatus, Issuer, PaymentMethod, PaymentOptions
from bot.money import Money
from plugins.i3d import wire

log = logging.getLogger(__name__)

PROVIDER_NAME = "i3d"
UNSELECTABLE_REASON = "i3D.net does not offer this method for this payment"


def money(cents: str, currency: str) -> Money:
    return Money.from_minor(cents, currency)


def _when(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


_EPOCH = date(1970, 1, 1).toordinal()


def _day(seconds: int) -> date | None:
    """The UTC day of a unix time, by arithmetic: `fromtimestamp` costs more than the
    rest of an invoice's conversion."""
    return _nth_day(seconds // 86_400) if seconds > 0 else None


@lru_cache(maxsize=4096)
def _nth_day(days: int) -> date:
    """Invoices share their days (a month's run, its due date): one `date` each."""
    return date.fromordinal(_EPOCH + days)


def _nothing_left(invoice: wire.Invoice) -> bool:
    cents = invoice.remainingAmount.strip()
    if cents.isascii() and cents.lstrip("-").isdigit():
        return int(cents) == 0
    return money(invoice.remainingAmount, invoice.currency).is_zero()  # says what is wrong


def status_of(invoice: wire.Invoice) -> InvoiceStatus:
    """From `paymentStatus` and whether anything remains; needs no currency, so a paid
    check survives an invoice whose currency drifted away."""
    if invoice.paymentStatus == 0 and invoice.paymentDate <= 0:
        return InvoiceStatus.OPEN  # most of a list: nothing more to look at
    settled = _nothing_left(invoice)
    if invoice.paymentStatus == 1:
        if settled:
            return InvoiceStatus.PAID
        log.warning(
            "i3D.net invoice %s has paymentStatus 1 but %s cents remaining; treating it as unknown",
            invoice.invoiceNumber,
            invoice.remainingAmount,
        )
        return InvoiceStatus.UNKNOWN
    if invoice.paymentStatus == 0:
        if not (settled and invoice.paymentDate > 0):
            return InvoiceStatus.OPEN
        # 0 is unpaid in the only values i3D ever documented (v2): the money's word
        # alone does not make it paid.
        log.warning(
            "i3D.net invoice %s has paymentStatus 0 but nothing remaining and a payment "
            "date; treating it as unknown",
            invoice.invoiceNumber,
        )
        return InvoiceStatus.UNKNOWN
    log.warning(
        "i3D.net invoice %s has undocumented paymentStatus %d; treating it as unknown",
        invoice.invoiceNumber,
        invoice.paymentStatus,
    )
    return InvoiceStatus.UNKNOWN


def to_invoice(invoice: wire.Invoice) -> Invoice:
    """Every value is built exactly here (cents to `Money`, seconds to dates), so the
    invoice skips validating them again: this is the hot path of a big account."""
    currency = invoice.currency
    status = status_of(invoice)
    total = _from_minor(invoice.amountIncVAT, currency)
    remaining = invoice.remainingAmount
    # An unpaid invoice's remainder is its total: one `Money` serves both (it is frozen).
    due = total if remaining == invoice.amountIncVAT else _from_minor(remaining, currency)
    return Invoice.built(
        provider=PROVIDER_NAME,
        id=invoice.id,
        number=invoice.invoiceNumber,
        description=invoice.description,
        amount_due=due,
        total_incl_vat=total,
        total_excl_vat=_from_minor(invoice.amountExclVAT, currency),
        created=_day(invoice.creationDate),
        due=_day(invoice.dueDate),
        paid_at=_when(invoice.paymentDate) if status is InvoiceStatus.PAID else None,
        status=status,
        is_credit=invoice.isCredit == 1,
    )


_from_minor = Money.from_minor


def to_method(method: wire.PaymentMethod) -> PaymentMethod:
    selectable = method.isSelectable == 1
    return PaymentMethod(
        id=str(method.id),
        name=method.name,
        selectable=selectable,
        reason=None if selectable else UNSELECTABLE_REASON,
        issuers=tuple(Issuer(id=issuer.id, name=issuer.name) for issuer in method.issuers or ()),
    )


def paid_at(invoices: list[wire.Invoice]) -> datetime | None:
    """When the last of these invoices was paid, if i3D says so."""
    moments = [moment for moment in (_when(inv.paymentDate) for inv in invoices) if moment]
    return max(moments) if moments else None


def to_options(prepared: wire.PayPrepare) -> PaymentOptions:
    currency = prepared.currency
    return PaymentOptions(
        provider=PROVIDER_NAME,
        invoices=[to_invoice(item) for item in prepared.invoicesForPay or ()],
        total=money(prepared.totalAmount, currency),
        methods=[to_method(method) for method in prepared.paymentMethod or ()],
        account_credit=money(prepared.accountCredit, currency),
        credits_settled=[to_invoice(item) for item in prepared.creditInvoices or ()],
    )
