"""Reading Payfirma's invoices: pages of the list for the core, and one invoice by id.

The list takes no filters, so status and text are applied here, after converting; a
page may therefore hold fewer than `limit` invoices and still carry a cursor. Ids are
integers, so anything else is "not found" without asking Payfirma.
"""

from __future__ import annotations

import logging

from bot.models import Invoice, InvoicePage, InvoiceQuery
from bot.provider import InvoiceNotFound, ProviderError
from plugins.payfirma import errors, wire
from plugins.payfirma.api import PayfirmaApi
from plugins.payfirma.convert import to_invoice
from plugins.payfirma.paging import CURSOR, MAX_LIMIT, Window

log = logging.getLogger(__name__)


def converted(item: wire.Invoice, what: str = "invoice list") -> Invoice:
    with errors.reading(what):
        return to_invoice(item)


def matches(query: InvoiceQuery, invoice: Invoice) -> bool:
    if query.statuses and invoice.status not in query.statuses:
        return False
    if not query.text:
        return True
    needle = query.text.casefold()
    fields = (invoice.number, invoice.description, invoice.payer or "")
    return any(needle in field.casefold() for field in fields)


async def page(api: PayfirmaApi, query: InvoiceQuery) -> InvoicePage:
    window = Window(CURSOR.decode(query.cursor), query.limit)
    items, resume = window.cut(await api.invoices(window.limit))
    found, unreadable = readable(items, "invoice list")
    return InvoicePage(
        invoices=[invoice for invoice in found if matches(query, invoice)],
        next_cursor=None if resume is None else CURSOR.encode(resume),
        unreadable=unreadable,
    )


async def of_customer(api: PayfirmaApi, customer_id: int, limit: int) -> list[Invoice]:
    items = await api.customer_invoices(customer_id, min(limit, MAX_LIMIT))
    found, _ = readable(items[:limit], "customer invoice list")
    return found


def readable(items: list[wire.Invoice | str], what: str) -> tuple[list[Invoice], list[str]]:
    """The invoices that convert, and the labels of those that do not."""
    found: list[Invoice] = []
    unreadable: list[str] = []
    for item in items:
        if isinstance(item, str):
            unreadable.append(item)
            continue
        try:
            found.append(converted(item, what))
        except ProviderError as error:
            log.warning("Payfirma invoice %s could not be read: %s", item.invoice_id, error)
            unreadable.append(str(item.invoice_id))
    return found, unreadable


def number(invoice_id: str) -> int:
    """Payfirma's invoice ids are integers, and they are the numbers people see, in the
    digits 0 to 9 (`int` would also read Arabic-Indic 12 as invoice 12)."""
    key = invoice_id.strip()
    if not (key.isascii() and key.isdigit()):
        raise not_found(invoice_id)
    return int(key)


def not_found(invoice_id: str) -> InvoiceNotFound:
    return InvoiceNotFound(f"Payfirma has no invoice {invoice_id.strip()!r} for this account.")


async def fetch(api: PayfirmaApi, invoice_id: str) -> wire.Invoice:
    key = number(invoice_id)
    try:
        return await api.invoice(key)
    except InvoiceNotFound:
        raise not_found(invoice_id) from None


async def get(api: PayfirmaApi, invoice_id: str) -> Invoice:
    return converted(await fetch(api, invoice_id), "invoice")
