"""Turn Payfirma's HTTP failures into the core's error types, worded for a person.

Payfirma documents status codes (402 for a valid request that did not complete, such
as a declined card) and that "each response carries a message", but not the error
body; we quote `error_description`, `message` or `error`, whichever it sent.
"""

from __future__ import annotations

from typing import Any

from bot.kit.errors import READ_WITHOUT_REASON as READ_WITHOUT_REASON
from bot.kit.errors import Wording, problem
from bot.provider import ProviderError, ProviderUnavailable
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


PAYFIRMA = Wording(
    name="Payfirma",
    credentials="invoicebot's access token",
    credentials_hint="It did so even after signing in again: check in PayHQ that the API "
    "client still exists and may use invoices and transactions.",
    words=lambda body: said(body)[1],
)


# What a refusal without a reason says, per call: the core's defaults speak of paying.
CREATE_WITHOUT_REASON = (
    "{name} would not create the invoice and gave no reason. Check the customer's e-mail "
    "address and the amounts."
)
SEND_WITHOUT_REASON = (
    "{name} would not e-mail the invoice and gave no reason. Check the customer's e-mail "
    "address; the invoice itself is unchanged."
)
SIGN_IN_WITHOUT_REASON = (
    "{name} refused to sign invoicebot in and gave no reason. Check in PayHQ (Settings > "
    "API) that the API client still exists."
)


def for_status(
    status: int,
    body: bytes,
    *,
    retry_after_header: str | None = None,
    refused: type[ProviderError] = ProviderUnavailable,
    without_reason: str | None = None,
) -> ProviderError:
    """The error for a non-2xx gateway answer; `refused` is what a 400/409/422 means here.

    A 401 reaching this point already survived one token renewal; 402 is Payfirma's
    "valid request that did not complete", such as a declined card.
    """
    return PAYFIRMA.failure(
        status,
        body,
        retry_after_header=retry_after_header,
        refused=refused,
        without_reason=without_reason,
    )


unreadable = PAYFIRMA.unreadable
reading = PAYFIRMA.reading
problem_of = problem
