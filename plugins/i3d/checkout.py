"""The rules around i3D's register call and its payment landing.

Before registering we hold the request against fresh prepare data, because register
is never retried and cannot be undone. Afterwards only the invoice list can say
"paid"; paymentLanding may say "cancelled" or "failed", and only for our invoices.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

from bot.kit.checks import chosen, is_web_address
from bot.models import FormPost, OutcomeStatus, PaymentOptions, PaymentOutcome, PaymentRequest
from plugins.i3d import errors, wire

log = logging.getLogger(__name__)

CANCELLED = frozenset({"cancelled", "canceled", "cancel", "aborted"})
FAILED = frozenset({"failed", "failure", "error", "declined", "expired", "rejected"})
SUCCEEDED = frozenset({"success", "succeeded", "paid", "completed", "ok"})
NOTHING_CHARGED = (
    "No money moved: i3D.net charges only once the payer confirms on its payment page."
)


def choose(
    options: PaymentOptions, request: PaymentRequest, invoice_ids: list[str]
) -> wire.PayRegister:
    """The register body for `request`, or `PaymentRejected` saying what changed."""
    method, issuer = chosen(options, request, title="i3D.net", subject="these invoices")
    return wire.PayRegister(
        invoiceIds=",".join(invoice_ids),
        paymentMethodId=int(method.id),
        issuerId=issuer,
    )


def form_post(response: wire.PayRegisterResponse) -> FormPost:
    """The browser form; accepts `{name, value}` items and plain `{key: value}` maps."""
    if not is_web_address(response.requestUrl):
        # The address only in the log: what it holds (a parenthesis, say) is no one's to read.
        log.warning("i3D.net pay/register named requestUrl %r", response.requestUrl)
        raise errors.unreadable("pay/register", "requestUrl is not a web address")
    fields: list[tuple[str, str]] = []
    for item in response.postFormInputs:
        if set(item) == {"name", "value"} and isinstance(item["name"], str):
            fields.append((item["name"], _text(item["value"])))
        else:
            fields.extend((str(key), _text(value)) for key, value in item.items())
    return FormPost(url=response.requestUrl, fields=fields)


def transaction_id(form: FormPost) -> str | None:
    """The PSP's transaction id, if the form carries one: lets a landing be matched up."""
    return next((value for name, value in form.fields if name.lower() == "transactionid"), None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def landing_outcome(
    landing: wire.PaymentLandingResponse, invoice_ids: Collection[str], *, untouched: bool = False
) -> PaymentOutcome | None:
    """What paymentLanding adds when it is about exactly our invoices; never PAID.
    `untouched`: the list shows every one of them open, none paid even in part."""
    if {item.id for item in landing.invoices} != set(invoice_ids):
        return None
    status = landing.status.strip().lower()
    said = landing.message.strip()
    if status in CANCELLED:
        return PaymentOutcome(
            status=OutcomeStatus.CANCELLED, message=said or "The payment was cancelled."
        )
    if status in FAILED:
        return PaymentOutcome(status=OutcomeStatus.FAILED, message=said or "The payment failed.")
    if status in SUCCEEDED:
        message = "i3D.net reports the payment went through; waiting for the invoices to show paid."
    else:
        if status not in {"open", "pending", "processing"}:
            log.warning("i3D.net paymentLanding has undocumented status %r", landing.status)
        message = said or "Waiting for the payment to complete."
    # Only a transaction still "open", on invoices none of which is paid, took nothing.
    unpaid = status == "open" and untouched
    return PaymentOutcome(status=OutcomeStatus.PENDING, message=message, invoice_unpaid=unpaid)
