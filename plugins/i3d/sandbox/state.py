"""Everything the sandbox remembers, in one typed object kept under `SANDBOX`.

Knobs (latency, injected faults, drift, return URL, form style) live here too, so tests
set them from Python and the control routes set the very same fields over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

from aiohttp import web

from bot.sandbox import ABSENT, SandboxBase
from plugins.i3d import wire
from plugins.i3d.sandbox.samples import SandboxMethod

__all__ = [
    "ABSENT",
    "SANDBOX",
    "AnswerStyle",
    "FaultKind",
    "FormStyle",
    "SandboxState",
    "Transaction",
]

FaultKind = Literal["error", "hang", "malformed", "shape", "rate_limit", "wordless"]
FormStyle = Literal["pairs", "map"]
AnswerStyle = Literal["object", "array"]
TxStatus = Literal["open", "success", "cancelled", "failed"]


@dataclass
class Transaction:
    """One register call, decided on the payment page."""

    id: str
    invoice_ids: list[str]
    credit_ids: list[str]
    method: wire.PaymentMethod
    issuer: wire.PaymentMethodIssuers | None
    total_cents: int
    currency: str
    status: TxStatus = "open"
    message: str = "Waiting for the payer at the payment page."


@dataclass
class SandboxState(SandboxBase):
    FAULT_KINDS: ClassVar[tuple[str, ...]] = get_args(FaultKind)

    token: str
    return_url: str
    invoices: dict[str, wire.Invoice]
    methods: list[SandboxMethod]
    form_style: FormStyle = "pairs"
    answer_style: AnswerStyle = "object"
    """How register and paymentLanding answer: one object, as their schemas say, or that
    object in a one-item array, v3's habit for every other answer (which one i3D sends
    is not known)."""
    account_credit: dict[str, str] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    last_transaction: str | None = None

    def add_invoices(self, invoices: Iterable[wire.Invoice]) -> None:
        for item in invoices:
            self.invoices[item.id] = item


SANDBOX: web.AppKey[SandboxState] = web.AppKey("i3d_sandbox", SandboxState)
