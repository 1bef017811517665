"""Text for people: one escaping function for Slack's mrkdwn, and provider messages
without protocol detail. Used by the Slack layer and by the core's own sentences."""

from __future__ import annotations

import re

PROTOCOL = re.compile(
    r"HTTP \d{3}|\brequest[ _-]?id\b|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|Traceback|errno",
    re.IGNORECASE,
)
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|Traceback|errno")
REQUEST_ID = re.compile(r"[;,]?\s*request[ _-]?id:?\s*[\w-]+", re.IGNORECASE)
MESSAGE_LIMIT = 2_000
"""Longer provider text is cut before it is scanned (and no person reads more)."""


def escape(text: str) -> str:
    """Provider-supplied text in mrkdwn: no mentions, links or markup can sneak in."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
        kept = "" if EXCEPTION_NAME.search(inside) else _readable(inside)
        text = text[: cut[0]].rstrip() + (f": {kept}" if kept else "") + text[cut[1] :]
    text = REQUEST_ID.sub("", text)
    text = re.sub(r"\bHTTP \d{3}\b:?\s*", "", text)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text


def _readable(inside: str) -> str:
    """The parts of a protocol group worth reading: not statuses, ids, exception names or
    bare status phrases ("Bad Gateway", "Unprocessable Entity")."""
    kept = []
    for part in re.split(r"[:;]", inside):
        part = part.strip().rstrip(".")
        words = part.split()
        if not part or PROTOCOL.search(part):
            continue
        if len(words) <= 3 and all(word[:1].isupper() for word in words):
            continue
        kept.append(part)
    return "; ".join(kept)
