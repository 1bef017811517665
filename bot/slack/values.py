"""Action ids, and the values buttons carry: only ids, always checked again on use.

A value is parsed strictly; anything that does not parse is a tampered or stale value
and is refused. Parsing never grants access: the handler re-reads every referenced
thing through this workspace's own provider connection or payment rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.models import Money

PAY = "pay"
COPY_LINK = "copy_link"
SEND_EMAIL = "send_email"
PAY_SELECTED = "pay_selected"
SELECT_INVOICES = "select_invoices"
CHOOSE_METHOD = "choose_method"
CHOOSE_ISSUER = "choose_issuer"
GET_LINK = "get_link"
OPEN_LINK = "open_link"
BACK = "back_to_list"
PAGE_PREVIOUS = "page_previous"
PAGE_NEXT = "page_next"
CONNECT_VIEW = "connect"
CODE_VIEW = "connect_code"
EMAIL_VIEW = "send_email"
NEW_INVOICE_VIEW = "new_invoice"
REVIEW_INVOICE_VIEW = "review_invoice"

_ID = r"[A-Za-z0-9_.:@-]{1,64}"
_PROVIDER = r"[a-z0-9_-]{1,32}"


class BadValue(ValueError):
    """A button value or block id that is not one this app produced."""


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
            match = re.fullmatch(r"(-?\d{1,12}(?:\.\d{1,3})?)([A-Z]{3})", parts[4])
            if not match:
                raise BadValue(value)
            amount = Money.of(Decimal(match.group(1)), match.group(2))
        return cls(parts[0], ids, method, issuer, amount)


@dataclass(frozen=True)
class PageRequest:
    """A page of a listing: the words typed after /invoices, and the page number."""

    text: str
    page: int

    def encode(self) -> str:
        return f"{self.page}|{self.text}"

    @classmethod
    def decode(cls, value: str) -> PageRequest:
        number, _, text = value.partition("|")
        if not number.isdigit() or not 0 <= int(number) < 10_000 or len(text) > 500:
            raise BadValue(value)
        return cls(text, int(number))
