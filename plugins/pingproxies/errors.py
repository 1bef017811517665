"""Turn PingProxies' HTTP failures into the core's error types, worded for a person.

PingProxies answers errors with `{error, message, api_request_id}`: its words are quoted
so the person in Slack sees what it said, and the request id is kept for its support.
HTTP 499 is not an error but a two-factor challenge, turned into `TwoFactorRequired`.
"""

from __future__ import annotations

from pydantic import ValidationError

from bot.kit.errors import Wording, problem
from bot.provider import NotPayable, PaymentRejected, ProviderError, TwoFactorRequired
from plugins.pingproxies import wire

TWO_FACTOR_STATUS = 499
#: The word in an `error` title that means the card declined ("Payment Declined").
DECLINE = "declin"
#: Words in a 422's `error` title that mean the payment, not the invoice, was refused.
PAYMENT_REFUSALS = (DECLINE, "payment method")


def read_error(body: bytes) -> wire.Error | None:
    try:
        return wire.Error.model_validate_json(body)
    except ValidationError:
        return None


def words(body: bytes) -> str:
    """`Invoice Not Payable: <message>; request id req_1`, or "" without an Error body."""
    said = read_error(body)
    if said is None:
        return ""
    message = said.message.strip().rstrip(".")
    text = f"{said.error}: {message}" if message else said.error
    return f"{text}; request id {said.api_request_id}" if said.api_request_id else text


PINGPROXIES = Wording(
    name="PingProxies",
    credentials="the sign-in",
    credentials_hint="Check the application public and private keys, and the account "
    "e-mail and password.",
    forbidden_hint="Check that the invoicebot application is approved for the Private User "
    "API and that the account may pay invoices.",
    words=words,
)


def quoted(status: int, body: bytes) -> str:
    """`HTTP 422: Invoice Not Payable: <message>; request id req_1`, or just `HTTP 422`."""
    return PINGPROXIES.quoted(status, body)


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    unprocessable: type[ProviderError] = NotPayable,
    subject: str = "it",
    declined: bool = False,
    without_reason: str | None = None,
) -> ProviderError:
    """The error for a non-2xx answer; `unprocessable` is what 400/409/422 mean for this call."""
    return PINGPROXIES.failure(
        status,
        body,
        retry_after_header=retry_after_header,
        refused=unprocessable,
        subject=subject,
        declined=declined,
        without_reason=without_reason,
    )


def is_decline(body: bytes) -> bool:
    """Whether an error body says the card declined the payment (not that a method or
    the invoice was refused)."""
    said = read_error(body)
    return said is not None and DECLINE in said.error.casefold()


def pay_refusal(body: bytes) -> type[ProviderError]:
    """A 422 from pay: a declined card or refused method is `PaymentRejected`, else `NotPayable`."""
    said = read_error(body)
    title = said.error.casefold() if said else ""
    return PaymentRejected if any(word in title for word in PAYMENT_REFUSALS) else NotPayable


def two_factor(body: bytes, doing: str) -> TwoFactorRequired:
    """The 499 challenge, with a sentence saying where the code went."""
    try:
        challenge = wire.TwoFactorChallenge.model_validate_json(body)
    except ValidationError as error:
        raise PINGPROXIES.unreadable("two-factor challenge", problem(error)) from None
    service = challenge.two_factor_authentication_service
    by = " by e-mail" if service == "email" else f" by {service}" if service else ""
    target = challenge.two_factor_authentication_target
    where = f"{by} to {target}" if target else by
    return TwoFactorRequired(
        f"PingProxies wants a one-time code before {doing}: it sent one{where}. "
        "Type that code to continue.",
        challenge=challenge.two_factor_authentication_public_key,
        target=target,
    )


unreadable = PINGPROXIES.unreadable
reading = PINGPROXIES.reading


__all__ = ["problem"]
