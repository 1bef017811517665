"""Starting a payment on Payfirma's hosted payment page (HPP).

Payfirma's invoice API has no pay call; the HPP takes an amount and hands back a page
URL. We send the invoice total as `amount`, the invoice id as `custom_id` and our
pay-link token as `state`, which Payfirma hands back on the return. The request is
held against fresh invoice data first, because HPP init is never retried.
"""

from __future__ import annotations

import logging

from yarl import URL

from bot.kit.checks import chosen, is_web_address
from bot.models import Invoice, PaymentMethod, PaymentOptions, PaymentRequest, Redirect
from bot.provider import NotPayable
from plugins.payfirma import convert, errors, wire

log = logging.getLogger(__name__)

METHOD_ID = "hpp"
METHOD_NAME = "Card on Payfirma's payment page"
CURRENCIES = ("CAD", "USD")
NOTHING_CHARGED = "Nothing was charged: the card is only taken on Payfirma's payment page."


def options(invoice: Invoice) -> PaymentOptions:
    if not invoice.payable:
        raise NotPayable(
            f"Payfirma invoice {invoice.number} is {invoice.status.value}; "
            "only unpaid invoices can be paid."
        )
    usable = invoice.currency in CURRENCIES
    method = PaymentMethod(
        id=METHOD_ID,
        name=METHOD_NAME,
        selectable=usable,
        reason=None if usable else "Payfirma's payment page takes CAD and USD only",
    )
    return PaymentOptions(
        provider=convert.PROVIDER_NAME,
        invoices=[invoice],
        total=invoice.amount_due,
        methods=[method],
    )


def hpp_request(
    request: PaymentRequest, offer: PaymentOptions, item: wire.Invoice
) -> wire.HppRequest:
    """The init body for `request`, or `PaymentRejected` saying what changed."""
    chosen(offer, request, title="Payfirma", subject=f"invoice {item.invoice_id}")
    back = URL(request.return_url)
    return wire.HppRequest(
        amount=offer.total.amount,
        currency=offer.total.currency,
        domain=str(back.origin()),
        state=request.token,
        custom_id=str(item.invoice_id),
        first_name=item.recipient_first_name or None,
        last_name=item.recipient_last_name or None,
        email=item.recipient_email or None,
    )


def redirect(link: str | None) -> Redirect:
    if link is None or not is_web_address(link):
        # The address only in the log: what it holds (a parenthesis, say) is no one's to read.
        log.warning("Payfirma named the hosted payment page %r", link)
        raise errors.unreadable("hosted payment page", "url is not a web address")
    return Redirect(url=link)
