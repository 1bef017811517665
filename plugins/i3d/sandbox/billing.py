"""The sandbox's account rules: what may be paid together, and what paying changes.

Invented where i3D is silent, and kept simple: invoices must be open, not credit
notes and in one currency; open credit notes in that currency are netted off the
total when they are smaller than it; paying settles both.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from plugins.i3d import wire
from plugins.i3d.sandbox.replies import ENTITY_NOT_FOUND, INVALID_INPUT, Refusal
from plugins.i3d.sandbox.samples import SIGNS
from plugins.i3d.sandbox.state import SandboxState, Transaction


@dataclass(frozen=True)
class Selection:
    invoices: list[wire.Invoice]
    credits: list[wire.Invoice]
    currency: str
    total_cents: int


def is_open(item: wire.Invoice) -> bool:
    return item.paymentStatus == 0 and int(item.remainingAmount) != 0


def select(state: SandboxState, invoice_ids: str) -> Selection:
    ids = list(dict.fromkeys(part.strip() for part in invoice_ids.split(",") if part.strip()))
    if not ids:
        raise Refusal(422, "Select at least one invoice", code=INVALID_INPUT, property="invoiceIds")
    chosen = []
    for key in ids:
        item = state.invoices.get(key)
        if item is None:
            raise Refusal(
                422, f"Invoice {key} not found", code=ENTITY_NOT_FOUND, property="invoiceIds"
            )
        if item.isCredit == 1:
            raise Refusal(
                422, f"Invoice {item.invoiceNumber} is a credit invoice", property="invoiceIds"
            )
        if not is_open(item):
            raise Refusal(
                422, f"Invoice {item.invoiceNumber} is already paid", property="invoiceIds"
            )
        chosen.append(item)
    currencies = {item.currency for item in chosen}
    if len(currencies) > 1:
        raise Refusal(
            422, "Invoices in different currencies cannot be paid together", property="invoiceIds"
        )
    currency = currencies.pop()
    gross = sum(int(item.remainingAmount) for item in chosen)
    credits = [
        item
        for item in state.invoices.values()
        if item.isCredit == 1 and item.currency == currency and is_open(item)
    ]
    credit = sum(int(item.remainingAmount) for item in credits)
    if credit >= gross:
        credits, credit = [], 0
    return Selection(chosen, credits, currency, gross - credit)


def prepare(state: SandboxState, selection: Selection) -> wire.PayPrepare:
    currency = selection.currency
    return wire.PayPrepare(
        totalAmount=str(selection.total_cents),
        currency=currency,
        currencySign=SIGNS.get(currency, currency),
        totalSelectedInvoiceForPay=len(selection.invoices),
        totalSelectedCreditForSettle=len(selection.credits),
        accountCredit=state.account_credit.get(currency, "0"),
        invoicesForPay=selection.invoices,
        creditInvoices=selection.credits,
        paymentMethod=[
            method.method.model_copy(update={"isSelectable": int(method.offered_for(currency))})
            for method in state.methods
        ],
    )


def register(state: SandboxState, body: wire.PayRegister) -> Transaction:
    selection = select(state, body.invoiceIds)
    offered = next((m for m in state.methods if m.method.id == body.paymentMethodId), None)
    if offered is None or not offered.offered_for(selection.currency):
        raise Refusal(
            422,
            f"Payment method {body.paymentMethodId} is not available for these invoices",
            property="paymentMethodId",
        )
    method = offered.method
    issuer = next((i for i in method.issuers or () if i.id == body.issuerId), None)
    if method.issuers and issuer is None:
        raise Refusal(422, f"Choose a valid issuer for {method.name}", property="issuerId")
    if not method.issuers and body.issuerId:
        raise Refusal(422, f"{method.name} has no issuers", property="issuerId")
    transaction = Transaction(
        id="tx_" + secrets.token_hex(8),
        invoice_ids=[item.id for item in selection.invoices],
        credit_ids=[item.id for item in selection.credits],
        method=method,
        issuer=issuer,
        total_cents=selection.total_cents,
        currency=selection.currency,
    )
    state.transactions[transaction.id] = transaction
    state.last_transaction = transaction.id
    return transaction


def settle(state: SandboxState, transaction: Transaction, now: int | None = None) -> None:
    """Pay every invoice of `transaction`, unless one was paid meanwhile (then it fails)."""
    keys = transaction.invoice_ids + transaction.credit_ids
    stale = [state.invoices[key].invoiceNumber for key in keys if not is_open(state.invoices[key])]
    if stale:
        transaction.status = "failed"
        transaction.message = (
            f"Invoice {', '.join(stale)} was settled in the meantime; nothing was charged."
        )
        return
    moment = now or int(time.time())
    for key in keys:
        mark_paid(state, key, moment)
    transaction.status = "success"
    transaction.message = "Your payment was received. Thank you!"


def mark_paid(state: SandboxState, key: str, now: int | None = None) -> None:
    """Book one invoice paid in full, as i3D does when its money arrives (through its
    payment page, or by other means such as a bank transfer)."""
    item = state.invoices[key]
    state.invoices[key] = item.model_copy(
        update={
            "paymentStatus": 1,
            "paymentDate": now or int(time.time()),
            "remainingAmount": "0",
            "totalPaidAmount": item.amountIncVAT,
        }
    )
