"""From an HTTP failure to the core's error types, in sentences a person can act on.

Every provider answers failures with a status and, sometimes, a body in its own shape.
A plugin describes itself once with `Wording` (its name, what its credentials are called,
where to fix them, how to find its own words in an error body); `Wording.failure` then
picks the error type by status, so the three bundled providers and a third party's agree
on what a 404 or a 429 means. Statuses and request ids stay in the message for the log;
the Slack side strips them before a person reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.provider import (
    BadCredentials,
    InvoiceNotFound,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from bot.reading import parse_json

if TYPE_CHECKING:
    from bot.kit.http import Answer

#: Keys under which services commonly put their own words, most specific first.
WORD_KEYS = ("error_description", "errorMessage", "message", "detail", "error")

DEFAULT_WITHOUT_REASON = {
    400: "{name} refused the request without saying why. Open the invoice again; if it keeps "
    "happening, it may no longer be payable from here.",
    409: "{name} refused because something changed meanwhile: another payment may already be "
    "under way. Open the invoice again to see its state.",
    422: "{name} would not take this and gave no reason: the invoice may already be paid or "
    "not payable this way. Open the invoice again, or try another method.",
}
"""What a refusal without a body usually means, per status."""

READ_WITHOUT_REASON = (
    "{name} refused to answer and gave no reason. Try again in a few minutes; if it keeps "
    "happening, check the account at {name}."
)
"""A read (a list, an invoice, a status) refused with no words: the defaults above speak
of paying, and no payment was asked for."""


def possessive(name: str) -> str:
    """ "i3D.net's", "PingProxies'"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def words_in(body: bytes) -> str:
    """The service's own words in a JSON error body, or "" when it has none we can read."""
    try:
        data: Any = parse_json(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for key in WORD_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: it may be a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass(frozen=True)
class Wording:
    """How one provider's failures read.

    `credentials` names what was refused ("the API key"); `credentials_hint` says where to
    fix it. A 403 means the same unless `forbidden_hint` says what else it means (a
    permission the account lacks). `words` finds the service's
    own sentence in an error body; `without_reason` overrides, per status, what a refusal
    with no words says (`{name}` is filled in).
    """

    name: str
    credentials: str = "invoicebot's credentials"
    credentials_hint: str = "Check them, and connect again."
    forbidden_hint: str | None = None
    words: Callable[[bytes], str] = words_in
    without_reason: Mapping[int, str] = field(default_factory=dict)

    def quoted(self, status: int, body: bytes) -> str:
        said = self.words(body)
        return f"HTTP {status}: {said}" if said else f"HTTP {status}"

    def failure(
        self,
        status: int,
        body: bytes,
        *,
        retry_after_header: str | None = None,
        refused: type[ProviderError] = NotPayable,
        subject: str = "it",
        declined: bool = False,
        without_reason: str | None = None,
    ) -> ProviderError:
        """The error for a non-2xx answer; `refused` is what 400/409/422 mean for this call.
        `declined`: the provider says the card or account declined the payment, which is not
        a refused request and reads as what it is. `without_reason` words a refusal with
        no words of its own (400, 409, 422) for this call, over the wording's own per
        status (whose defaults speak of paying); `{name}` is filled in."""
        said = self.words(body)
        quoted = f"HTTP {status}: {said}" if said else f"HTTP {status}"
        name = self.name
        if status == 401 or (status == 403 and self.forbidden_hint is None):
            return BadCredentials(
                f"{name} refused {self.credentials} ({quoted}). {self.credentials_hint}"
            )
        if status == 403:
            return BadCredentials(f"{name} does not allow this ({quoted}). {self.forbidden_hint}")
        if status == 402:
            reason = said or "no reason given"
            stop = "" if reason.endswith((".", "!", "?")) else "."
            return PaymentRejected(f"{name} declined it: {reason}{stop}")
        if status == 404:
            return InvoiceNotFound(f"{name} could not find {subject} ({quoted}).")
        if status == 429:
            wait = retry_after(retry_after_header)
            later = f"in {wait:g} s" if wait is not None else "in a minute"
            return RateLimited(f"{name} is limiting requests ({quoted}); try again {later}.", wait)
        if status in (400, 409, 422):
            if not said:
                text = (
                    without_reason
                    or self.without_reason.get(status)
                    or DEFAULT_WITHOUT_REASON[status]
                )
                return refused(text.format(name=name) + f" (HTTP {status})")
            if declined:
                return PaymentRejected(f"{name} could not take the payment ({quoted}).")
            return refused(f"{name} refused the request ({quoted}).")
        if status >= 500:
            return ProviderUnavailable(
                f"{name} had a server error ({quoted}); try again in a few minutes."
            )
        return ProviderUnavailable(f"{name} answered with an unexpected status ({quoted}).")

    def for_answer(
        self, answer: Answer, *, refused: type[ProviderError] = NotPayable, subject: str = "it"
    ) -> ProviderError:
        """`failure` for an answer from `bot.kit.http`, with its `Retry-After`."""
        return self.failure(
            answer.status,
            answer.body,
            retry_after_header=answer.headers.get("Retry-After"),
            refused=refused,
            subject=subject,
        )

    def unreadable(self, what: str, problem: str) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"{possessive(self.name)} {what} answer could not be read ({problem}); "
            f"if this keeps happening, {self.name} may have changed its API."
        )

    @contextmanager
    def reading(self, what: str) -> Iterator[None]:
        """Values that parse but make no sense (cents like "12.50", an unknown currency)
        are unreadable answers too."""
        try:
            yield
        except ValidationError as error:
            raise self.unreadable(what, problem(error)) from None
        except (ValueError, ArithmeticError) as error:
            raise self.unreadable(what, str(error)) from None


def problem(error: ValidationError) -> str:
    """The first thing wrong with an answer, in a few words for the log and the message."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return "not valid JSON"
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"unexpected shape at {where}: {first['msg']}"


RETRY_ADVICE = re.compile(
    r"\s*[;,]?\s*(?:(?:and|or)\s+)?(?:please\s+)?try again in a few minutes(?=\s*(?:[.!;)]|$))",
    re.IGNORECASE,
)


def capitalized(text: str) -> str:
    """`text` as a sentence's start: a first word spelled its own way ("i3D.net",
    "iDEAL") is a name and stays as it is; only a lower-case one gets its capital."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return text if first != first.lower() else text[:1].upper() + text[1:]


def without_retry(message: str) -> str:
    """`message` without "try again in a few minutes": after a write whose answer was
    lost, the advice is the opposite (look first: it may have been done). Wherever it
    ends a clause it goes, with the punctuation around it tidied; advice that goes on
    ("…, or call us") is left whole rather than cut into nonsense."""
    text = RETRY_ADVICE.sub("", message)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"([.!?])\s*[;,.]+", r"\1", text)
    text = re.sub(r"\s*[;,]+\s*(?=[.!?]|$)", "", text)
    text = re.sub(r"\s+([.!?])", r"\1", text).strip().lstrip(";,. ")
    if not text.strip(".!?;, "):
        return ""
    text = capitalized(text)
    return text if text.endswith((".", "!", "?")) or text == message else f"{text}."
