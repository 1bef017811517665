"""Issuing invoices: the core's `InvoiceDraft` as Payfirma's create body, the check after,
and e-mailing an invoice. None of these calls is ever retried: a repeat could bill twice.

The form gives a customer's name and e-mail, while Payfirma files an invoice under a
customer only by the documented `customer_id`. Payfirma's invoices carry `customer_id`
next to `recipient_email`, so the id is learned from the invoices already issued to that
address (one documented read); a first invoice to an address, or an address shared by
several customers, goes without one rather than under a guessed customer.

Totals are the draft's own (lines rounded half up to the cent, tax per line), sent as
exact decimal dollars. Each line's tax goes in `tax1` as a percentage (`percentile:
true`) and the invoice-level `tax1` carries the tax in dollars; in Payfirma's example
both readings give the same numbers, so which one it means is our inference.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from bot.kit.errors import without_retry
from bot.models import Invoice, InvoiceDraft
from bot.money import Money
from bot.provider import (
    CreatedDifferently,
    InvoiceNotFound,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SeveralInvoices,
    Unconfirmed,
)
from plugins.payfirma import checkout, convert, listing, wire
from plugins.payfirma.api import PayfirmaApi, SignInLost
from plugins.payfirma.paging import MAX_LIMIT

log = logging.getLogger(__name__)

TAX_LABEL = "Tax"
EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")
MAYBE_CREATED = "The invoice may have been created; check PayHQ before trying again."
NOT_CREATED = "Nothing was created."
NOT_SENT = "Nothing was sent."
MAYBE_SENT = "The e-mail may have gone out; check PayHQ before sending again."
LATER = "Try again in a few minutes."


def quantity_text(quantity: Decimal) -> str:
    """`10` for ten, `1.5` for one and a half: the string the create call documents."""
    return format(quantity.normalize(), "f")


def split_name(name: str) -> tuple[str, str]:
    """Payfirma keeps first and last names; "Mary Ann Smith" → ("Mary Ann", "Smith")."""
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


async def customer_of(api: PayfirmaApi, email: str) -> int | None:
    """The `customer_id` of the invoices Payfirma holds for `email`, if they agree on one."""
    return customer_in(await api.invoices(MAX_LIMIT), email)


def customer_in(items: list[wire.Invoice | str], email: str) -> int | None:
    """`customer_of` over invoices already read."""
    wanted = email.strip().casefold()
    found = {
        item.customer_id
        for item in items
        if not isinstance(item, str)
        and item.customer_id is not None
        and item.customer_id > 0
        and (item.recipient_email or "").strip().casefold() == wanted
    }
    if len(found) > 1:
        log.warning(
            "Payfirma files invoices to %s under %d customers (%s); the new invoice gets "
            "no customer_id rather than a guessed one",
            email,
            len(found),
            ", ".join(map(str, sorted(found))),
        )
    return found.pop() if len(found) == 1 else None


def new_invoice(
    draft: InvoiceDraft, *, send: bool, customer_id: int | None = None
) -> wire.NewInvoice:
    first, last = split_name(draft.customer_name)
    items = [
        wire.NewItem(
            item=line.description,
            quantity=quantity_text(line.quantity),
            price=line.unit_price.amount,
            tax1=wire.Tax(percentile=True, amount=line.tax_percent) if line.tax_percent else None,
            amount=line.amount.amount,
        )
        for line in draft.lines
    ]
    return wire.NewInvoice(
        due_date=None if draft.due is None else convert.epoch_millis(draft.due),
        title=draft.title,
        description=draft.description,
        customer_id=customer_id,
        order_id=draft.reference or None,
        recipient_email=draft.customer_email,
        recipient_first_name=first,
        recipient_last_name=last,
        items=items,
        sub_total=draft.subtotal.amount,
        currency=draft.currency.upper(),
        tax1=draft.tax.amount,
        tax1_label=TAX_LABEL,
        total=draft.total.amount,
        resend_invoice=send,
    )


def check_totals(
    draft: InvoiceDraft, created: wire.Invoice, invoice: Invoice, *, sent: bool
) -> None:
    """`CreatedDifferently` when Payfirma's totals are not the draft's, to the cent."""
    currency = invoice.currency
    taxes = [amount for amount in (created.tax1, created.tax2) if amount is not None]
    theirs = {
        "total": invoice.total_incl_vat,
        "subtotal": invoice.total_excl_vat,
        "tax": Money.total((convert.money(a, currency) for a in taxes), currency)
        if taxes
        else None,
    }
    ours = {"total": draft.total, "subtotal": draft.subtotal, "tax": draft.tax}
    wrong = [
        f"{what} {theirs[what]} instead of {ours[what]}"
        for what in ("total", "subtotal", "tax")
        if theirs[what] is not None and theirs[what] != ours[what]
    ]
    if invoice.currency != draft.currency.upper():
        wrong.insert(0, f"currency {invoice.currency} instead of {draft.currency.upper()}")
    if not wrong:
        return
    done = "e-mailed to the customer" if sent else "saved as a draft"
    raise CreatedDifferently(
        f"Payfirma computed different totals for new invoice {invoice.number} "
        f"({'; '.join(wrong)}). It was {done} anyway: void it in PayHQ and check the "
        "lines and tax rates.",
        invoice.number,
    )


async def create(api: PayfirmaApi, draft: InvoiceDraft, *, send: bool) -> Invoice:
    if draft.currency.upper() not in checkout.CURRENCIES:
        raise PaymentRejected(
            f"Payfirma invoices are in CAD or USD only, not {draft.currency.upper()}."
        )
    try:  # reads and sign-in before the create: nothing is sent yet if they fail
        customer_id = await customer_of(api, draft.customer_email)
        await api.tokens.token()
    except ProviderUnavailable as error:
        raise _before(error, NOT_CREATED) from None
    body = new_invoice(draft, send=send, customer_id=customer_id)
    try:
        created = await api.create(body, draft=not send)
    except SignInLost as lost:
        raise _before(lost.error, NOT_CREATED) from None
    except RateLimited:
        raise
    except ProviderUnavailable as error:
        raise Unconfirmed(f"{without_retry(error.message)} {MAYBE_CREATED}") from None
    invoice = listing.converted(created, "create invoice")
    check_totals(draft, created, invoice, sent=send)
    return invoice


async def find_created(api: PayfirmaApi, draft: InvoiceDraft) -> Invoice | None:
    """The invoice Payfirma lists with the draft's reference as `order_id`, to the draft's
    address and in its currency; None when none does, `SeveralInvoices` naming them when
    several do (none is taken: a person must tell which the customer was sent).

    The list takes only `?limit=` (no offset or cursor), so an account with more than
    `MAX_LIMIT` invoices may leave the new one out. The create named the customer the
    same list gives for the address (`customer_of`), so that customer's own list is read
    next: two reads at most, as the lookup runs every round while the invoice is missing.
    A first invoice to an address (filed under no customer) can still be missed.
    """
    if not draft.reference:
        return None
    listed = await api.invoices(MAX_LIMIT)
    found = _made_from(listed, draft)
    if not found and len(listed) >= MAX_LIMIT:
        customer = customer_in(listed, draft.customer_email)
        if customer is not None:
            found = _made_from(await api.customer_invoices(customer, MAX_LIMIT), draft)
    if len(found) > 1:
        log.warning(
            "Payfirma lists %d invoices with order_id %s; none is taken as the one created",
            len(found),
            draft.reference,
        )
        raise SeveralInvoices(
            f"Payfirma lists {len(found)} invoices made from one create.",
            [str(item.invoice_id) for item in found],
        )
    return listing.converted(found[0], "invoice list") if found else None


def _made_from(items: list[wire.Invoice | str], draft: InvoiceDraft) -> list[wire.Invoice]:
    """The invoices among `items` that carry the draft's reference, address and currency."""
    wanted = draft.customer_email.strip().casefold()
    return [
        item
        for item in items
        if not isinstance(item, str)
        and item.order_id == draft.reference
        and (item.recipient_email or "").strip().casefold() == wanted
        and item.currency.upper() == draft.currency.upper()
    ]


async def send(api: PayfirmaApi, invoice_id: str, to: str | None) -> str:
    key = listing.number(invoice_id)
    address = None if to is None else to.strip()
    if address is not None and not EMAIL.match(address):
        raise ProviderError(f"{address!r} is not an e-mail address Payfirma can send to.")
    try:  # signed in before the send: nothing goes out if that fails
        await api.tokens.token()
    except ProviderUnavailable as error:
        raise _before(error, NOT_SENT) from None
    try:
        return await api.send(key, address)
    except SignInLost as lost:
        raise _before(lost.error, NOT_SENT) from None
    except InvoiceNotFound:
        raise listing.not_found(invoice_id) from None
    except RateLimited:
        raise
    except ProviderUnavailable as error:
        raise Unconfirmed(f"{without_retry(error.message)} {MAYBE_SENT}") from None


def _before(error: ProviderUnavailable, nothing: str) -> ProviderError:
    """A failure before the call was sent (or after it was refused, not sent again):
    nothing happened, and the person may try again."""
    if isinstance(error, RateLimited):
        return RateLimited(f"{error.message} {nothing}", error.retry_after)
    return ProviderError(f"{without_retry(error.message)} {nothing} {LATER}")
