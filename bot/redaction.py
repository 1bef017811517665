"""Secrets never reach a log line, at any level, from any library.

slack_sdk logs each Web API body and each `respond()` body at DEBUG (a payment link's
token, a `response_url`), and Bolt logs request bodies. A pay-link token is stored only
encrypted (and hashed), so a token in a log would undo that. A log record factory redacts every
record as it is made, whoever makes it and whichever handler writes it.

The same factory keeps text passed to a log line (a provider's error message, an invoice
number) on that line: its line breaks and other unprintable characters are written as
escapes, so it can neither forge a line of its own nor, with a lone surrogate from an
escape in a provider's JSON, make the line unwritable in UTF-8. And it keeps such text
to `LOGGED_CHARS`: a provider's error body (an HTML page, a stack trace) was quoted
whole, tens of thousands of characters a line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Pay links and the token a provider hands back in `state`.
    (re.compile(r"(/pay/)[A-Za-z0-9_\-]{16,}"), rf"\1{REDACTED}"),
    (re.compile(r"((?:\?|&|\b)state=)[A-Za-z0-9_\-]{16,}"), rf"\1{REDACTED}"),
    # Slack response URLs (Slack's own, and the local emulator's) and webhooks.
    (re.compile(r"(hooks\.slack\.com/)[^\s\"'<>&]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/hooks/)[^\s\"'<>&]+"), rf"\1{REDACTED}"),
    (
        re.compile(r"((?:\"|')?response_urls?(?:\"|')?\s*[:=]\s*(?:\"|')?)[^\s\"',&}]+"),
        rf"\1{REDACTED}",
    ),
    # An OAuth install's code, in the redirect's query and in Bolt's own log line.
    (re.compile(r"((?:\?|&)code=)[A-Za-z0-9._\-]{8,}"), rf"\1{REDACTED}"),
    (re.compile(r"(with code: )\S+"), rf"\1{REDACTED}"),
    (re.compile(r"((?:\"|')code(?:\"|')\s*:\s*(?:\"|'))[^\"']+"), rf"\1{REDACTED}"),
    # A database URL's password (libpq's own messages never print it; a URL might).
    (re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]+@"), rf"\1{REDACTED}@"),
    # A provider's address logged when it cannot be reached may carry a login in it.
    (re.compile(r"(https?://)[^/@\s]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    # Slack tokens and bearer credentials.
    (re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9\-]+"), rf"\1-{REDACTED}"),
    (re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (
        re.compile(
            r"((?:\"|')?(?:private[-_]token|api[-_]?key|client[-_]secret|password|secret|"
            r"access[-_]token|refresh[-_]token|hpp[-_]token)(?:\"|')?\s*[:=]\s*(?:\"|')?)"
            r"[^\s\"',&}]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
)


LOGGED_CHARS = 300
"""Most characters of one value a log line quotes: a sentence, an invoice number or an
id fit, and what is cut is counted."""


def one_line(text: str) -> str:
    """`text` with its line breaks and unprintable characters (tabs aside) as escapes."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == "\t" else char.encode("unicode_escape").decode()
        for char in text
    )


def kept(text: str) -> str:
    """`text` as a log line quotes it: on one line, and cut to `LOGGED_CHARS` (redacted
    before it is cut, so a cut cannot leave part of a secret its pattern misses)."""
    if len(text) <= LOGGED_CHARS:
        return one_line(text)
    cleaned = redact(text)
    if len(cleaned) <= LOGGED_CHARS:
        return one_line(cleaned)
    left = len(cleaned) - LOGGED_CHARS
    return f"{one_line(cleaned[:LOGGED_CHARS])}… [{left} more characters]"


def _plain(arg: object) -> bool:
    """Whether `arg` can be logged as it is: printable and short."""
    if isinstance(arg, str):
        return len(arg) <= LOGGED_CHARS and arg.isprintable()
    if not isinstance(arg, BaseException):
        return True
    try:
        text = str(arg)
        return len(text) <= LOGGED_CHARS and text.isprintable() and len(repr(arg)) <= LOGGED_CHARS
    except Exception:  # logging formats it as it can, or says it could not
        return True


class _OneLine:
    """An error passed to a log line (`log.info("...: %s", error)`, the usual way):
    its text is a provider's as often as not, so `%s` and `%r` write it as `kept` does."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __str__(self) -> str:
        return kept(str(self.error))

    def __repr__(self) -> str:
        return kept(repr(self.error))


def _on_one_line(arg: object) -> object:
    if isinstance(arg, str):
        return kept(arg)
    return _OneLine(arg) if isinstance(arg, BaseException) else arg


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_installed = False
_FORMAT = logging.Formatter()


def install() -> None:
    """Redact every log record from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.args, tuple) and not all(map(_plain, record.args)):
            record.args = tuple(_on_one_line(a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(_FORMAT.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting)
    _installed = True
