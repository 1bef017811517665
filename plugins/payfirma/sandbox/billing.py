"""The sandbox's money rules: invoice totals, Payfirma's test processor, what paying changes.

Totals: each line is quantity times price rounded half up to the cent, and tax is per line
(`tax_rounding="line"`) or on the unrounded sum (`"invoice"`), the knob that makes the
sandbox disagree with a client. The processor follows Payfirma's sandbox rule: an odd
whole-dollar part is approved and an even one declined, $2.10 to $2.60 with specific
reasons. An approved payment whose `custom_id` names an unpaid invoice of exactly that
amount marks it PAID: how real Payfirma links the two is not documented.
"""

from __future__ import annotations

import secrets
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from plugins.payfirma import wire
from plugins.payfirma.sandbox.replies import Refusal
from plugins.payfirma.sandbox.state import SandboxState, TaxRounding, Transaction

CENT = Decimal("0.01")
CURRENCIES = frozenset({"CAD", "USD"})
MERCHANT = {
    "business_name": "Sandbox Merchant Ltd.",
    "business_city": "Vancouver",
    "business_country": "Canada",
    "support_email": "billing@sandbox-merchant.example",
    "language": "ENGLISH",
    "tax1_label": "Tax",
}
DECLINE_REASONS = {
    Decimal("2.10"): "Tokenize failure",
    Decimal("2.20"): "Email required",
    Decimal("2.30"): "Missing card field",
    Decimal("2.40"): "Not supported",
    Decimal("2.50"): "De-tokenize failure",
    Decimal("2.60"): "Failed to authorize",
}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def now_ms() -> int:
    return int(time.time() * 1000)


def tax_of(amount: Decimal, tax: wire.Tax | None) -> Decimal:
    if tax is None or tax.amount is None:
        return Decimal(0)
    return amount * tax.amount / 100 if tax.percentile else tax.amount


def priced(items: list[wire.Item], rounding: TaxRounding) -> dict[str, object]:
    """Lines with their amounts, and the invoice's sub_total, tax1, tax2 and total."""
    lines, taxes1, taxes2 = [], [], []
    for item in items:
        quantity, price = Decimal(item.quantity or 0), item.price or Decimal(0)
        amount = cents(quantity * price)
        whole = quantity == quantity.to_integral_value()
        lines.append(
            item.model_copy(
                update={"amount": amount, "quantity": int(quantity) if whole else quantity}
            )
        )
        taxes1.append(tax_of(amount, item.tax1))
        taxes2.append(tax_of(amount, item.tax2))

    def total_tax(taxes: list[Decimal]) -> Decimal:
        return (
            sum(map(cents, taxes), Decimal(0))
            if rounding == "line"
            else cents(sum(taxes, Decimal(0)))
        )

    sub_total = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    tax1, tax2 = total_tax(taxes1), total_tax(taxes2)
    return {
        "items": lines,
        "sub_total": sub_total,
        "tax1": tax1,
        "tax2": tax2,
        "total": sub_total + tax1 + tax2,
    }


def create(state: SandboxState, body: wire.NewInvoice, *, draft: bool) -> wire.Invoice:
    currency = body.currency.strip().upper()
    if currency not in CURRENCIES:
        raise Refusal(400, f"currency must be CAD or USD, not {body.currency!r}")
    if not body.items:
        raise Refusal(400, "items: an invoice needs at least one item")
    if "@" not in body.recipient_email:
        raise Refusal(400, "recipient_email: not an e-mail address")
    items = []
    for index, line in enumerate(body.items):
        try:
            quantity = Decimal(line.quantity)
        except InvalidOperation:
            raise Refusal(
                400, f"items.{index}.quantity: {line.quantity!r} is not a number"
            ) from None
        if not quantity.is_finite() or quantity <= 0 or line.price < 0:
            raise Refusal(400, f"items.{index}: quantity must be positive and price not negative")
        items.append(
            wire.Item(
                item=line.item, quantity=quantity, price=line.price, tax1=line.tax1, tax2=line.tax2
            )
        )
    invoice = wire.Invoice.model_validate(
        {
            **MERCHANT,
            "invoice_id": state.next_invoice_id(),
            "status": "DRAFT" if draft else "UNPAID",
            "title": body.title,
            "description": body.description,
            "created_date": now_ms(),
            "due_date": body.due_date,
            "currency": currency,
            "recipient_email": body.recipient_email,
            "recipient_first_name": body.recipient_first_name,
            "recipient_last_name": body.recipient_last_name,
            "customer_id": body.customer_id,
            "order_id": body.order_id,
            "resend_invoice": body.resend_invoice,
            **priced(items, state.tax_rounding),
        }
    )
    state.add_invoices([invoice])
    return invoice


def decide(amount: Decimal) -> tuple[bool, str]:
    if int(amount) % 2 == 1:
        return True, "Approved"
    reason = DECLINE_REASONS.get(cents(amount))
    return False, reason or "Card declined (sandbox rule: the whole-dollar part is even)"


def charge(
    state: SandboxState,
    amount: Decimal,
    currency: str,
    custom_id: str | None,
    *,
    source: str,
    card_suffix: str = "",
    declined: str | None = None,
) -> Transaction:
    """`declined`: the card's issuer refuses it whatever the amount, with this reason."""
    approved, message = (False, declined) if declined else decide(amount)
    tx = Transaction(
        id=next(state.transaction_ids),
        lookup_id=secrets.token_urlsafe(15),
        amount=amount,
        currency=currency,
        result="APPROVED" if approved else "DECLINED",
        message=message,
        custom_id=custom_id,
        time_ms=now_ms(),
        source=source,
        card_suffix=card_suffix,
    )
    state.transactions[tx.lookup_id] = tx
    if approved and state.card_payments_mark_paid:
        settle(state, tx)
    return tx


def settle(state: SandboxState, tx: Transaction) -> None:
    key = tx.custom_id or ""
    item = state.invoices.get(int(key)) if key.isdigit() else None
    if item is None or (item.status or "").upper() != "UNPAID":
        return
    if item.currency == tx.currency and asked(state, item) == tx.amount:
        state.invoices[item.invoice_id] = item.model_copy(update={"status": "PAID"})


def asked(state: SandboxState, item: wire.Invoice) -> Decimal | None:
    """The total the API shows for `item`, drift included: a drifted total is what the
    invoice asks for, so a payment of the total it had before does not pay it."""
    total = state.drifted(item.to_json(), item.invoice_id).get("total")
    try:
        return None if total is None else Decimal(str(total))
    except InvalidOperation:
        return None
