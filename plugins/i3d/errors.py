"""Turn i3D.net's HTTP failures into the core's error types, worded for a person.

i3D answers errors with `{errorCode, errorMessage, errors: [{property, message}]}`;
its message is quoted so the person in Slack sees what i3D said, not just a code.
errorCode 10001 is i3D's documented "Entity not found", whatever the HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from plugins.i3d import wire

ENTITY_NOT_FOUND = 10001


def read_body(body: bytes) -> tuple[int | None, str]:
    """i3D's error code and own words, or (None, "") when the body is not its Error object."""
    try:
        error = wire.Error.model_validate_json(body)
    except ValidationError:
        return None, ""
    details = "; ".join(
        f"{item.property}: {item.message}" if item.property else item.message
        for item in error.errors
        if item.message != error.errorMessage
    )
    said = f"{error.errorMessage} ({details})" if details else error.errorMessage
    return error.errorCode, said


def retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


WITHOUT_A_REASON = {
    400: "i3D.net refused the request without saying why (HTTP 400). Open the invoice "
    "again; if it keeps happening, the invoice may no longer be payable from the API.",
    409: "i3D.net refused because something changed meanwhile (HTTP 409): another payment "
    "may already be under way for these invoices. Open the invoice again to see its state.",
    422: "i3D.net would not take this payment and gave no reason (HTTP 422): the invoice "
    "may already be paid or not payable with this method. Open the invoice again, or try "
    "another method.",
}


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    unprocessable: type[ProviderError] = NotPayable,
) -> ProviderError:
    """The error to raise for a non-2xx answer; `unprocessable` is what 4xx means for this call."""
    code, said = read_body(body)
    quoted = f"HTTP {status}: {said}" if said else f"HTTP {status}"
    if status in (401, 403):
        return BadCredentials(
            f"i3D.net refused the API key ({quoted}). Check that the key in the i3D.net "
            "control panel (Account > API keys) is still valid and not expired, and that "
            "this server's IP address is on the key's whitelist."
        )
    if status == 404 or (code == ENTITY_NOT_FOUND and status < 500):
        return InvoiceNotFound(f"i3D.net could not find it ({quoted}).")
    if status == 429:
        wait = retry_after(retry_after_header)
        later = f"in {wait:g} s" if wait is not None else "in a minute"
        return RateLimited(f"i3D.net is limiting requests ({quoted}); try again {later}.", wait)
    if status in (400, 409, 422):
        if not said:  # i3D's spec documents these without a body: say what usually causes them
            return unprocessable(WITHOUT_A_REASON.get(status, WITHOUT_A_REASON[422]))
        return unprocessable(f"i3D.net refused the request ({quoted}).")
    if status >= 500:
        return ProviderUnavailable(
            f"i3D.net had a server error ({quoted}); try again in a few minutes."
        )
    return ProviderUnavailable(f"i3D.net answered with an unexpected status ({quoted}).")


def unreadable(what: str, problem: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"i3D.net's {what} answer could not be read ({problem}); "
        "if this keeps happening, i3D.net may have changed its API."
    )


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Values that parse but make no sense (cents like "12.50") are unreadable answers too."""
    try:
        yield
    except ValidationError as error:
        raise unreadable(what, error.errors()[0]["msg"]) from None
    except ValueError as error:
        raise unreadable(what, str(error)) from None
