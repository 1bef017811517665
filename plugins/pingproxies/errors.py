"""Turn PingProxies' HTTP failures into the core's error types, worded for a person.

PingProxies answers errors with `{error, message, api_request_id}`: its words are quoted
so the person in Slack sees what it said, and the request id is kept for its support.
HTTP 499 is not an error but a two-factor challenge, turned into `TwoFactorRequired`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TwoFactorRequired,
)
from plugins.pingproxies import wire

TWO_FACTOR_STATUS = 499
#: Words in a 422's `error` title that mean the payment, not the invoice, was refused.
PAYMENT_REFUSALS = ("declin", "payment method")


def read_error(body: bytes) -> wire.Error | None:
    try:
        return wire.Error.model_validate_json(body)
    except ValidationError:
        return None


def quoted(status: int, body: bytes) -> str:
    """`HTTP 422: Invoice Not Payable: <message>; request id req_1`, or just `HTTP 422`."""
    said = read_error(body)
    if said is None:
        return f"HTTP {status}"
    message = said.message.strip().rstrip(".")
    words = f"{said.error}: {message}" if message else said.error
    request = f"; request id {said.api_request_id}" if said.api_request_id else ""
    return f"HTTP {status}: {words}{request}"


def retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    unprocessable: type[ProviderError] = NotPayable,
    subject: str = "it",
) -> ProviderError:
    """The error for a non-2xx answer; `unprocessable` is what 400/409/422 mean for this call."""
    text = quoted(status, body)
    if status == 401:
        return BadCredentials(
            f"PingProxies refused the sign-in ({text}). Check the application public and "
            "private keys, and the account e-mail and password."
        )
    if status == 403:
        return BadCredentials(
            f"PingProxies does not allow this ({text}). Check that the invoicebot application "
            "is approved for the Private User API and that the account may pay invoices."
        )
    if status == 404:
        return InvoiceNotFound(f"PingProxies could not find {subject} ({text}).")
    if status == 429:
        wait = retry_after(retry_after_header)
        later = f"in {wait:g} s" if wait is not None else "in a minute"
        return RateLimited(f"PingProxies is limiting requests ({text}); try again {later}.", wait)
    if status in (400, 409, 422):
        return unprocessable(f"PingProxies refused the request ({text}).")
    if status >= 500:
        return ProviderUnavailable(
            f"PingProxies had a server error ({text}); try again in a few minutes."
        )
    return ProviderUnavailable(f"PingProxies answered with an unexpected status ({text}).")


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
        raise unreadable("two-factor challenge", problem(error)) from None
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


def unreadable(what: str, why: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"PingProxies' {what} answer could not be read ({why}); "
        "if this keeps happening, PingProxies may have changed its API."
    )


def problem(error: ValidationError) -> str:
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return "not valid JSON"
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"unexpected shape at {where}: {first['msg']}"


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Values that parse but make no sense (an unknown currency) are unreadable answers too."""
    try:
        yield
    except ValidationError as error:
        raise unreadable(what, error.errors()[0]["msg"]) from None
    except ValueError as error:
        raise unreadable(what, str(error)) from None
