"""Turn Payfirma's HTTP failures into the core's error types, worded for a person.

Payfirma documents status codes (402 for a valid request that did not complete, such
as a declined card) and that "each response carries a message", but not the error
body; we quote `error_description`, `message` or `error`, whichever it sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from plugins.payfirma import wire


def said(body: bytes) -> tuple[str, str]:
    """(error code, Payfirma's own words), either empty when the body does not say."""
    try:
        data: Any = wire.decode(body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    code = data.get("error")
    words = data.get("error_description") or data.get("message")
    code = code if isinstance(code, str) else ""
    words = words if isinstance(words, str) else ""
    return code, words or code


def retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    refused: type[ProviderError] = ProviderUnavailable,
) -> ProviderError:
    """The error for a non-2xx gateway answer; `refused` is what a 400/409/422 means here.

    A 401 reaching this point already survived one token renewal.
    """
    _, words = said(body)
    quoted = f"HTTP {status}: {words}" if words else f"HTTP {status}"
    if status in (401, 403):
        return BadCredentials(
            f"Payfirma refused invoicebot's access token ({quoted}) even after signing in "
            "again. Check in PayHQ that the API client still exists and may use invoices "
            "and transactions."
        )
    if status == 402:
        return PaymentRejected(f"Payfirma declined it: {words or 'no reason given'}.")
    if status == 404:
        return InvoiceNotFound(f"Payfirma could not find it ({quoted}).")
    if status == 429:
        wait = retry_after(retry_after_header)
        later = f"in {wait:g} s" if wait is not None else "in a minute"
        return RateLimited(f"Payfirma is limiting requests ({quoted}); try again {later}.", wait)
    if status in (400, 409, 422):
        return refused(f"Payfirma refused the request ({quoted}).")
    if status >= 500:
        return ProviderUnavailable(
            f"Payfirma had a server error ({quoted}); try again in a few minutes."
        )
    return ProviderUnavailable(f"Payfirma answered with an unexpected status ({quoted}).")


def unreadable(what: str, problem: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"Payfirma's {what} answer could not be read ({problem}); "
        "if this keeps happening, Payfirma may have changed its API."
    )


def problem_of(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"unexpected shape at {where}: {first['msg']}"


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Values that parse but make no sense (a third decimal on a dollar) are unreadable too."""
    try:
        yield
    except ValidationError as error:
        raise unreadable(what, problem_of(error)) from None
    except ValueError as error:
        raise unreadable(what, str(error)) from None
