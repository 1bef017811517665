"""How i3D.net's failures read: its error body, its one special code, its hints.

i3D answers errors with `{errorCode, errorMessage, errors: [{property, message}]}`; its
message is quoted so the person in Slack sees what i3D said. errorCode 10001 is i3D's
documented "Entity not found", whatever the HTTP status. Everything else is the kit's.
"""

from __future__ import annotations

from pydantic import ValidationError

from bot.kit.errors import Wording
from bot.provider import InvoiceNotFound, NotPayable, ProviderError
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


I3D = Wording(
    name="i3D.net",
    credentials="the API key",
    credentials_hint="Check that the key in the i3D.net control panel (Account > API keys) "
    "is still valid and not expired, and that this server's IP address is on the key's "
    "whitelist.",
    words=lambda body: read_body(body)[1],
    without_reason={
        # The spec documents 422 on pay/prepare without a body: say what usually causes it.
        422: "{name} would not take this payment and gave no reason: the invoice may already "
        "be paid or not payable with this method. Open the invoice again, or try another "
        "method.",
    },
)


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    unprocessable: type[ProviderError] = NotPayable,
    without_reason: str | None = None,
) -> ProviderError:
    """The error for a non-2xx answer; `unprocessable` is what 4xx means for this call,
    `without_reason` what a refusal with no words says (a read's own, see `I3D`)."""
    code, _ = read_body(body)
    if code == ENTITY_NOT_FOUND and status < 500 and status != 404:
        return InvoiceNotFound(f"i3D.net could not find it ({I3D.quoted(status, body)}).")
    return I3D.failure(
        status,
        body,
        retry_after_header=retry_after_header,
        refused=unprocessable,
        without_reason=without_reason,
    )


unreadable = I3D.unreadable
reading = I3D.reading
