"""Text for people: one escaping function for Slack's mrkdwn, provider messages without
protocol detail, and the one sentence each error becomes. Used by the Slack layer, the
web pages and the core's own sentences alike."""

from __future__ import annotations

import logging
import math
import re

from aiohttp import ClientConnectorCertificateError, ClientConnectorError
from slack_sdk.errors import SlackApiError

from bot.access import GroupUnread
from bot.credentials import SecretKeyError
from bot.kit.errors import without_retry
from bot.provider import (
    AmountChanged,
    BadCredentials,
    CreatedDifferently,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unconfirmed,
    WrongCode,
)

log = logging.getLogger(__name__)

READER_DETAIL = re.compile(
    r"unexpected shape at|not valid JSON|is not a web address", re.IGNORECASE
)
"""What a reader found wrong in an answer (field paths, model names, an address the
provider sent for the payer's browser): for the log."""
PROTOCOL = re.compile(
    r"HTTP \d{3}|\brequest[ _-]?id\b|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|Traceback|errno|"
    + READER_DETAIL.pattern,
    re.IGNORECASE,
)
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|Traceback|errno")
REQUEST_ID = re.compile(r"[;,]?\s*request[ _-]?id:?\s*[\w-]+", re.IGNORECASE)
MESSAGE_LIMIT = 2_000
"""Longer provider text is cut before it is scanned (and no person reads more)."""


UNSHOWN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""C0 and C1 controls but line breaks and tabs, and the direction marks, embeddings,
overrides and isolates: U+202E before "00.063€" would show it reversed, as "€360.00", a
fake amount; a mark (U+200F) turns the signs, brackets and spaces around it. And lone
surrogates, which a provider's JSON can carry as an escape (`"\\ud800"`) but which are
no character at all: no UTF-8 encoder takes them."""


def shown(text: str) -> str:
    """`text` without the characters that hide or reorder what a person reads: every
    text object the blocks build, plain or mrkdwn, passes here. The usual text (all
    printable) costs one C-level check."""
    return text if text.isprintable() else UNSHOWN.sub("", text)


def escape(text: str) -> str:
    """Provider-supplied text in mrkdwn: no mentions or links can sneak in, and control
    and direction characters are dropped (`shown`). Line breaks and tabs are kept."""
    return shown(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed, from the text Slack sends (a slash command's): Slack escapes
    its control characters `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def joined(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C": names in a sentence, whose verb agrees with `len`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def one_line(text: str) -> str:
    """`escape(text)` on one line, for names, numbers and descriptions shown within a
    line: a provider's line breaks, tabs and runs of spaces become one space, so they
    cannot stretch a list or split the billing channel's record."""
    if not text.isprintable() or "  " in text or text[:1] == " " or text[-1:] == " ":
        text = " ".join(text.split())  # line breaks and tabs are not printable
    return escape(text)


def plain(message: str) -> str:
    """`message` without protocol detail.

    A parenthesised part that carries an HTTP status, a request id or an exception name
    keeps only what a person can read in it (the provider's reason, not its status line):
    "refused the request (HTTP 422: Invoice already paid; request id 9f03)" becomes
    "refused the request: Invoice already paid".
    """
    text = message[:MESSAGE_LIMIT]
    while True:
        stack: list[int] = []
        cut: tuple[int, int] | None = None
        for index, char in enumerate(text):
            if char == "(":
                stack.append(index)
            elif char == ")" and stack:
                start = stack.pop()
                if PROTOCOL.search(text[start : index + 1]):
                    cut = (start, index + 1)
                    break
        if cut is None:
            break
        inside = text[cut[0] + 1 : cut[1] - 1]
        dropped = EXCEPTION_NAME.search(inside) or READER_DETAIL.search(inside)
        kept = "" if dropped else _readable(inside)
        text = text[: cut[0]].rstrip() + (f": {kept}" if kept else "") + text[cut[1] :]
    text = REQUEST_ID.sub("", text)
    text = re.sub(r"\bHTTP \d{3}\b:?\s*", "", text)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    # One line: the message is quoted within a sentence (a digest's "did not answer (…)"),
    # where a provider's line break would show a line of its own.
    text = re.sub(r"\s+", " ", text).strip()
    return text


PARTS = re.compile(r";|:(?=\s|$)")
"""Where a protocol group's parts meet: a semicolon, or a colon ending a word ("HTTP
422: …"); not the colon of a link's scheme or of a time, which belong to the reason."""


def _readable(inside: str) -> str:
    """The parts of a protocol group worth reading: not statuses, ids, exception names or
    bare status phrases ("Bad Gateway", "Unprocessable Entity")."""
    kept = []
    for part in PARTS.split(inside):
        part = part.strip().rstrip(".")
        words = part.split()
        if not part or PROTOCOL.search(part):
            continue
        if len(words) <= 3 and all(word[:1].isupper() for word in words):
            continue
        kept.append(part)
    return "; ".join(kept)


UNEXPECTED = (
    "Something went wrong inside invoicebot, and the details are in its log. If you were "
    "paying, look at the invoice before you try again."
)


SLACK_BUSY_CODES = frozenset(
    {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}
)


def slack_busy(error: BaseException) -> bool:
    """Slack itself could not take a call just now (rate limits, an outage): passing, and
    not invoicebot's fault. Any other refusal is a bug here, with its traceback."""
    if not isinstance(error, SlackApiError) or error.response is None:
        return False
    status = error.response.status_code
    return status == 429 or status >= 500 or _slack_code(error) in SLACK_BUSY_CODES


def dialog_too_late(error: BaseException) -> bool:
    """Slack would not open a dialog because the click's trigger had expired: Slack allows
    3 s from the click, and a slow moment (the bot, Slack, the network) can pass them.
    Clicking again brings a fresh trigger, so it is passing, not a bug here."""
    return (
        isinstance(error, SlackApiError)
        and error.response is not None
        and (_slack_code(error) == "expired_trigger_id")
    )


def _slack_code(error: SlackApiError) -> str | None:
    """Slack's `error` code; None when the answer was not JSON (a 500 page)."""
    data = error.response.data if error.response is not None else None
    return str(data.get("error")) if isinstance(data, dict) and data.get("error") else None


def say(error: BaseException, *, refused_next: str | None = None) -> str:
    """One plain sentence a person can act on (text: escape it where it goes).

    A refusal (`PaymentRejected`) ends with its next step: another card or method, unless
    the caller was not paying and says what comes next instead (`refused_next`; "" for
    nothing more). An invoice created differently exists: its message says what to do."""
    if isinstance(error, SlackApiError) and slack_busy(error):
        wait = error.response.headers.get("Retry-After")
        later = f"in {wait} s" if wait and str(wait).isdigit() else "in a minute"
        return f"Slack did not take invoicebot's request just now (it is busy). Try again {later}."
    if dialog_too_late(error):
        # A dialog opens from a button or a command (`/invoices connect`): either way
        # the next step is to do the same again, which brings a fresh trigger.
        return "Slack took too long to open the dialog. Please try again."
    if isinstance(error, ClientConnectorError):
        return (
            "invoicebot could not reach a service it needs just now. If you were paying, "
            "look at the invoice before you try again; if it keeps happening, tell whoever "
            "runs invoicebot."
        )
    if isinstance(error, GroupUnread):
        return (
            "Slack did not list a user group just now, so invoicebot cannot tell yet who "
            "may do this, and nothing was done. Try again in a minute."
        )
    if isinstance(error, SecretKeyError):
        return (
            "invoicebot cannot open its stored provider credentials: the operator's secret "
            "key changed. Ask whoever runs invoicebot to restore it."
        )
    if not isinstance(error, ProviderError):
        return UNEXPECTED
    text = plain(error.message) or "The provider refused the request."
    if isinstance(error, RateLimited) and error.retry_after:
        if "try again" not in text.lower():  # the kit's own wording says when already
            text += f" Try again in {math.ceil(error.retry_after)} s."
    elif isinstance(error, WrongCode):
        pass  # typing the code again is the next step, and the message says so
    elif isinstance(error, BadCredentials) and "reconnect" not in text.lower():
        text += " An admin can reconnect the provider with `/invoices connect`."
    elif isinstance(error, AmountChanged | CreatedDifferently):
        pass  # confirming the new amount, or correcting the invoice, and the message says so
    elif isinstance(error, PaymentRejected) and refused_next is not None:
        text += f" {refused_next}" if refused_next else ""
    elif isinstance(error, PaymentRejected) and "another" not in text.lower():
        text += " Try another card or method."
    elif isinstance(error, Unconfirmed):  # it may be done: trying again could do it twice
        text = without_retry(text) or "The provider's answer was lost: it may have been done."
    elif isinstance(error, ProviderUnavailable) and "again" not in text.lower():
        text += " Try again in a few minutes."
    return text


def log_error(error: BaseException, where: str) -> None:
    """Provider errors are expected: a line at WARNING. Anything else: one traceback."""
    if isinstance(error, ProviderError):
        log.warning("%s: %s: %s", where, type(error).__name__, error.message)
    elif isinstance(error, SlackApiError) and (slack_busy(error) or dialog_too_late(error)):
        code = _slack_code(error) or "no error code"
        log.warning("%s: Slack answered %s (%s)", where, error.response.status_code, code)
    elif isinstance(error, GroupUnread):  # already logged with the group it was
        log.warning("%s: a user group could not be read (%s)", where, error)
    elif isinstance(error, ClientConnectorError):
        # Not a bug here: a firewall, a mistyped address (SLACK_API_URL) or an outage.
        if isinstance(error, ClientConnectorCertificateError):  # no os_error in aiohttp 3.10
            reason: object = error.certificate_error
        else:
            reason = error.os_error.strerror or error.os_error
        log.warning("%s: cannot connect to %s:%s: %s", where, error.host, error.port, reason)
    else:
        log.error("%s failed unexpectedly", where, exc_info=error)
