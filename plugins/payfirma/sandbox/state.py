"""Everything the sandbox remembers, in one typed object kept under `SANDBOX`.

Knobs (latency, injected faults, return URL, token lifetime, tax rounding) live here
too, so tests set them from Python and the control routes set the very same fields.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, Literal, get_args

from aiohttp import web

from bot.sandbox import SandboxBase
from plugins.payfirma import wire

FaultKind = Literal[
    "error",
    "hang",
    "malformed",
    "shape",
    "rate_limit",
    "wordless",
    "unauthorized",
    "decline",
    "bad_request",
    "forbidden",
    "lost",
]
TaxRounding = Literal["line", "invoice"]


@dataclass
class HppSession:
    """One hosted payment page, from init until the payer pays or cancels."""

    id: str
    amount: Decimal
    currency: str
    return_url: str
    state: str | None = None
    custom_id: str | None = None
    name: str = ""
    used: bool = False


@dataclass
class Transaction:
    id: int
    lookup_id: str
    amount: Decimal
    currency: str
    result: Literal["APPROVED", "DECLINED"]
    message: str
    custom_id: str | None
    time_ms: int
    source: str
    card_suffix: str = ""
    kind: str = "SALE"
    """`transaction_type`: the page and a direct sale make sales; a test may say otherwise."""

    def to_wire(self) -> wire.Transaction:
        return wire.Transaction(
            id=self.id,
            lookup_id=self.lookup_id,
            amount=self.amount,
            currency=self.currency,
            transaction_result=self.result,
            transaction_type=self.kind,
            transaction_time=self.time_ms,
            transaction_source=self.source,
            card_type="VISA",
            card_suffix=self.card_suffix,
            custom_id=self.custom_id or "",
            message=self.message,
        )


@dataclass(frozen=True)
class Email:
    invoice_id: int
    address: str


DEFAULT_HPP_TOKEN = "sandbox-payfirma-hpp-token"
"""What PayHQ's Hosted Pay Page settings would have generated for the sandbox account."""


@dataclass
class SandboxState(SandboxBase):
    FAULT_KINDS: ClassVar[tuple[str, ...]] = get_args(FaultKind)

    client_id: str
    client_secret: str
    return_url: str | None
    invoices: dict[int, wire.Invoice]
    hpp_token: str = DEFAULT_HPP_TOKEN
    merchant_id: str = "70017"
    token_lifetime: int = 3600
    tax_rounding: TaxRounding = "line"
    list_body: bytes | None = None
    """When set, the invoice list answers exactly this body (e.g. the documents' sample)."""
    tokens: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, HppSession] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    emails: list[Email] = field(default_factory=list)
    card_payments_mark_paid: bool = False
    """Whether an approved card payment (the hosted page, a sale) marks its invoice PAID.
    The documents say nothing of it, so by default it does not, as the strictest reading:
    only the transaction the return names shows the payment, and the invoice stays
    UNPAID (as if nobody marked it paid in PayHQ)."""
    sending_issues_drafts: bool = True
    """Whether e-mailing a draft makes it UNPAID: the documents do not say, so it is our
    guess; False answers as if Payfirma e-mailed a draft and left it one."""
    clock: Callable[[], float] = time.monotonic
    transaction_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(880_001))

    def add_invoices(self, invoices: Iterable[wire.Invoice]) -> None:
        for item in invoices:
            self.invoices[item.invoice_id] = item

    def next_invoice_id(self) -> int:
        return max(self.invoices, default=212_946) + 1

    def issue_token(self) -> str:
        token = "sbx_" + secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_lifetime
        return token

    def token_ok(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as if its lifetime had run out."""
        self.tokens.clear()


SANDBOX: web.AppKey[SandboxState] = web.AppKey("payfirma_sandbox", SandboxState)
