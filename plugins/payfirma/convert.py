"""From Payfirma's wire objects to the core's models: exact money, dates, a normalised status.

Only "UNPAID" is documented (and "Unpaid" on create), so statuses are compared without
case: UNPAID is open, PAID paid, DRAFT a draft, and the cancelled spellings void; any
other value is UNKNOWN, never payable, and logged for a human. Dates are epoch
milliseconds as documented, or ISO 8601 as the list samples show; days are taken in UTC.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.models import Invoice, InvoiceStatus
from bot.money import Money, bounded
from plugins.payfirma import wire

log = logging.getLogger(__name__)

PROVIDER_NAME = "payfirma"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = {
    "UNPAID": InvoiceStatus.OPEN,
    "PAID": InvoiceStatus.PAID,
    "DRAFT": InvoiceStatus.DRAFT,
    "CANCELLED": InvoiceStatus.VOID,
    "CANCELED": InvoiceStatus.VOID,
    "VOID": InvoiceStatus.VOID,
}
SETTLED = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID})


def money(dollars: Decimal | int, currency: str) -> Money:
    """Exact, or a ValueError for a third decimal: a dollar amount is never rounded here."""
    return bounded(Money.of(dollars, currency))


def moment(value: int | Decimal | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and not (value.strip().isascii() and value.strip().isdigit()):
        parsed = datetime.fromisoformat(value.strip())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    millis = Decimal(value)
    if millis != millis.to_integral_value():
        raise ValueError(f"not whole epoch milliseconds: {value!r}")
    return EPOCH + timedelta(milliseconds=int(millis)) if millis > 0 else None


def day(value: int | Decimal | str | None) -> date | None:
    when = moment(value)
    return when.astimezone(UTC).date() if when else None


def epoch_millis(due: date) -> int:
    """A due day as Payfirma stores it: the last second of that day (here in UTC)."""
    end = datetime.combine(due, time(23, 59, 59), tzinfo=UTC)
    return (end - EPOCH) // timedelta(milliseconds=1)


def status_of(item: wire.Invoice) -> InvoiceStatus:
    said = (item.status or "").strip().upper()
    status = STATUSES.get(said)
    if status is None:
        log.warning(
            "Payfirma invoice %s has undocumented status %r; treating it as unknown",
            item.invoice_id,
            item.status,
        )
        return InvoiceStatus.UNKNOWN
    return status


def payer_of(item: wire.Invoice) -> str | None:
    name = " ".join(filter(None, (item.recipient_first_name, item.recipient_last_name))).strip()
    who = name or (item.company or "").strip()
    email = (item.recipient_email or "").strip()
    if who and email:
        return f"{who} ({email})"
    return who or email or None


def to_invoice(item: wire.Invoice) -> Invoice:
    currency = item.currency.strip().upper()
    status = status_of(item)
    total = money(item.total, currency)
    return Invoice(
        provider=PROVIDER_NAME,
        id=str(item.invoice_id),
        number=str(item.invoice_id),
        description=(item.description or item.title or "").strip(),
        amount_due=Money.zero(currency) if status in SETTLED else total,
        total_incl_vat=total,
        total_excl_vat=None if item.sub_total is None else money(item.sub_total, currency),
        created=day(item.created_date),
        due=day(item.due_date),
        status=status,
        payer=payer_of(item),
        payer_email=(item.recipient_email or "").strip() or None,
    )
