"""The sandbox's payment rules: what Pay Option offers and what Pay does.

Only open invoices can be paid (422 otherwise, as PingProxies' docs describe business
refusals). Saved cards are offered for every invoice and charge at once, except the one
that is always declined; redirect methods may refuse small invoices with a reason.
"""

from __future__ import annotations

import time

from plugins.pingproxies import wire
from plugins.pingproxies.sandbox.replies import Refusal
from plugins.pingproxies.sandbox.samples import stamp
from plugins.pingproxies.sandbox.state import Checkout, SandboxState


def payable(state: SandboxState, invoice_id: str) -> wire.Invoice:
    item = state.invoices.get(invoice_id)
    if item is None:
        raise Refusal(404, "Not Found", "The requested invoice could not be found.")
    if item.invoice_status != "open" or item.invoice_amount_remaining <= 0:
        raise Refusal(
            422,
            "Invoice Not Payable",
            f"Invoice {item.invoice_number} is {item.invoice_status}; "
            "only open invoices can be paid.",
        )
    return item


def pay_option(state: SandboxState, invoice_id: str) -> wire.PayOption:
    item = payable(state, invoice_id)
    cents = item.invoice_amount_remaining
    allowed = [card.option() for card in state.cards]
    disallowed = []
    for method in state.methods:
        reason = method.refusal(cents)
        if reason is None:
            allowed.append(method.option())
        else:
            disallowed.append(
                wire.DisallowedPaymentOption(**method.option().model_dump(), reason=reason)
            )
    return wire.PayOption(
        invoice_id=item.invoice_id,
        invoice_currency=item.invoice_currency,
        invoice_amount_remaining=cents,
        allowed_payment_methods=allowed,
        disallowed_payment_methods=disallowed,
    )


def pay(state: SandboxState, invoice_id: str, body: wire.PayRequest, origin: str) -> wire.PayResult:
    item = payable(state, invoice_id)
    chosen = body.payment_method_id
    card = next((card for card in state.cards if card.id == chosen), None)
    if card is not None:
        if card.declines:
            state.invoices[invoice_id] = item.model_copy(
                update={"invoice_last_payment_error": card.decline_message}
            )
            raise Refusal(422, "Payment Declined", card.decline_message)
        settle(state, invoice_id)
        return wire.PayResult(
            invoice_id=invoice_id,
            invoice_status="paid",
            payment_type="capture",
            payment_transaction_id=state.new_id("txn"),
        )
    method = next((method for method in state.methods if method.id == chosen), None)
    reason = method.refusal(item.invoice_amount_remaining) if method else None
    if method is None or reason is not None:
        raise Refusal(
            422,
            "Payment Method Not Allowed",
            reason or f"Payment method {chosen} is not available for this invoice.",
        )
    checkout = Checkout(
        state.new_id("cs"),
        invoice_id,
        method,
        item.invoice_amount_remaining,
        item.invoice_currency,
    )
    state.checkouts[checkout.id] = checkout
    return wire.PayResult(
        invoice_id=invoice_id,
        invoice_status="open",
        payment_type="redirect",
        payment_redirect_url=f"{(state.public_url or origin).rstrip('/')}/checkout/{checkout.id}",
        payment_transaction_id=checkout.id,
    )


def settle(state: SandboxState, invoice_id: str, now: int | None = None) -> bool:
    """Mark the invoice paid; False if it was not open any more."""
    item = state.invoices[invoice_id]
    if item.invoice_status != "open":
        return False
    state.invoices[invoice_id] = item.model_copy(
        update={
            "invoice_status": "paid",
            "invoice_amount_paid": item.invoice_total,
            "invoice_amount_remaining": 0,
            "invoice_paid_datetime": stamp(now or int(time.time())),
            "invoice_last_payment_error": None,
        }
    )
    return True
