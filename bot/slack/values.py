"""Action ids, and the values buttons carry: only ids, always checked again on use.

A value is parsed strictly; anything that does not parse is a tampered or stale value
and is refused. Parsing never grants access: the handler re-reads every referenced
thing through this workspace's own provider connection or payment rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bot.models import Money
from bot.selection import KEY_ID_CHARS, KEY_NUMBER_CHARS, Side, SortKey

PAY = "pay"
PAY_APPROVED = "pay_approved"
"""**Pay** in an approved request's DM: the pay menu comes as a new message, so the DM
keeps saying what was approved."""
COPY_LINK = "copy_link"
SEND_EMAIL = "send_email"
PAY_SELECTED = "pay_selected"
SELECT_INVOICES = "select_invoices"
CHOOSE_METHOD = "choose_method"
CHOOSE_ISSUER = "choose_issuer"
GET_LINK = "get_link"
OPEN_LINK = "open_link"
CANCEL_LINK = "cancel_link"
"""A payer's own unopened link, cancelled so the invoice can be paid another way; its
value is the payment's id, checked against the clicker and the workspace on use."""
BACK = "back_to_list"
PAGE_PREVIOUS = "page_previous"
PAGE_NEXT = "page_next"
CONNECT_VIEW = "connect"
CODE_VIEW = "connect_code"
EMAIL_VIEW = "send_email"
NEW_INVOICE_VIEW = "new_invoice"
REVIEW_INVOICE_VIEW = "review_invoice"
EDIT_INVOICE = "edit_invoice"
REMIND = "remind_customer"
EXPORT = "export_records"
EXPORT_VIEW = "export_records"

_ID = r"[A-Za-z0-9_.:@-]{1,64}"
_PROVIDER = r"[a-z0-9_-]{1,32}"

MAX_VALUE = 2000  # Slack's limit on a button's value
MAX_TEXT = 500  # the words typed after /invoices that a page button carries
_PAGE = re.compile(
    r"(?P<side>[ab])(?P<page>[1-9][0-9]{0,6})\|"
    r"(?:\|(?P<bare>.*)|(?P<rank>[0-2])\|(?P<day>[1-9][0-9]{0,6})\|"
    r"(?P<lengths>[1-9][0-9]?\.[1-9][0-9]{0,3}\.(?:0|[1-9][0-9]{0,2}))\|(?P<rest>.*))",
    re.DOTALL,
)


class BadValue(ValueError):
    """A button value or block id that is not one this app produced."""


def carries(invoice_id: str) -> bool:
    """Whether a button can name this invoice: ids are up to 64 letters, digits and
    `_.:@-` (the value separates ids with `,` and parts with `|`). A provider's id
    outside that is shown without buttons, never turned into a value that reads back as
    tampered or breaks the message around it."""
    return re.fullmatch(_ID, invoice_id) is not None


@dataclass(frozen=True)
class PayTarget:
    """Which invoices of which provider, with the method chosen so far."""

    provider: str
    invoice_ids: tuple[str, ...]
    method_id: str | None = None
    issuer_id: str | None = None
    amount: Money | None = None

    def encode(self) -> str:
        parts = [
            self.provider,
            ",".join(self.invoice_ids),
            self.method_id or "",
            self.issuer_id or "",
        ]
        if self.amount is not None:
            parts.append(f"{self.amount.amount}{self.amount.currency}")
        return "|".join(parts)

    @classmethod
    def decode(cls, value: str) -> PayTarget:
        parts = value.split("|")
        if not 2 <= len(parts) <= 5 or not re.fullmatch(_PROVIDER, parts[0]):
            raise BadValue(value)
        ids = tuple(parts[1].split(","))
        if not ids or len(ids) > 50 or not all(re.fullmatch(_ID, i) for i in ids):
            raise BadValue(value)
        method = parts[2] if len(parts) > 2 and parts[2] else None
        issuer = parts[3] if len(parts) > 3 and parts[3] else None
        for part in (method, issuer):
            if part is not None and not re.fullmatch(_ID, part):
                raise BadValue(value)
        amount = None
        if len(parts) == 5:
            match = re.fullmatch(r"(-?[0-9]{1,12}(?:\.[0-9]{1,3})?)([A-Z]{3})", parts[4])
            if not match:
                raise BadValue(value)
            amount = Money.of(Decimal(match.group(1)), match.group(2))
        return cls(parts[0], ids, method, issuer, amount)


@dataclass(frozen=True)
class PageRequest:
    """A page of a listing: the words typed after /invoices, and where the page lies.

    The invoices right after `key` (Next; no key: the first page) or right before it
    (Previous). `page` is the number the button leads to, for display only: the label
    a listing shows is counted afresh, as invoices may have changed in between.

    Encoded as `<a|b><page>|` then `|<text>` without a key, or, with one,
    `<rank>|<day>|<len provider>.<len id>.<len number>|<provider><id><number><text>`:
    the free-form parts are length-prefixed, so nothing needs escaping.
    """

    text: str
    side: Side = Side.AFTER
    key: SortKey | None = None
    page: int = 1

    def encode(self) -> str:
        head = f"{self.side.value[0]}{self.page}|"
        if self.key is None:
            return f"{head}|{self.text}"
        rank, day, number, provider, invoice_id = self.key
        lengths = f"{len(provider)}.{len(invoice_id)}.{len(number)}"
        return f"{head}{rank}|{day}|{lengths}|{provider}{invoice_id}{number}{self.text}"

    @classmethod
    def decode(cls, value: str) -> PageRequest:
        match = _PAGE.fullmatch(value) if len(value) <= MAX_VALUE else None
        if match is None:
            raise BadValue(value)
        side = Side.AFTER if match["side"] == "a" else Side.BEFORE
        page = int(match["page"])
        if match["rank"] is None:  # no key: only the first page is from the start
            if side is not Side.AFTER or page != 1 or len(match["bare"]) > MAX_TEXT:
                raise BadValue(value)
            return cls(match["bare"], side, None, page)
        day = int(match["day"])
        sizes = [int(size) for size in match["lengths"].split(".")]
        rest = match["rest"]
        if (
            day > date.max.toordinal()
            or sizes[2] > KEY_NUMBER_CHARS
            or sizes[1] > KEY_ID_CHARS
            or not 0 <= len(rest) - sum(sizes) <= MAX_TEXT
        ):
            raise BadValue(value)
        provider, invoice_id, number, text = _cut(rest, sizes)
        return cls(text, side, (int(match["rank"]), day, number, provider, invoice_id), page)


def _cut(text: str, sizes: list[int]) -> list[str]:
    """`text` cut into pieces of `sizes`, and what is left as the last piece."""
    pieces = []
    for size in sizes:
        pieces.append(text[:size])
        text = text[size:]
    return [*pieces, text]


METADATA_CHARS = 3000
"""Slack's most characters in a view's `private_metadata`: past it, the view is refused."""


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON object invoicebot wrote in a dialog's `private_metadata`; empty for
    anything else (a dialog it did not build), whose missing keys are then refused."""
    try:
        found = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it can read
        return {}
    return found if isinstance(found, dict) else {}
