"""Everything the sandbox remembers, in one typed object kept under `SANDBOX`.

Knobs (latency, injected faults, return URL, form style) live here too, so tests set
them from Python and the control routes set the very same fields over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from aiohttp import web

from bot.sandbox import FaultInjection
from plugins.i3d import wire
from plugins.i3d.sandbox.samples import SandboxMethod

FaultKind = Literal["error", "hang", "malformed", "shape", "rate_limit"]
FormStyle = Literal["pairs", "map"]
TxStatus = Literal["open", "success", "cancelled", "failed"]
REQUESTS_KEPT = 2000


@dataclass(frozen=True)
class Seen:
    """A request as it reached the sandbox, kept so tests can check what the client sent."""

    method: str
    path: str
    raw_path: str
    ranged_data: str | None
    body: bytes


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


ABSENT = "<absent>"


@dataclass
class SandboxState(FaultInjection):
    FAULT_KINDS: ClassVar[tuple[str, ...]] = get_args(FaultKind)

    token: str
    return_url: str
    invoices: dict[str, wire.Invoice]
    methods: list[SandboxMethod]
    latency: float = 0.0
    hang_seconds: float = 30.0
    form_style: FormStyle = "pairs"
    public_url: str | None = None
    account_credit: dict[str, str] = field(default_factory=dict)
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per invoice id, raw JSON changes applied as the list is served (a value of
    `ABSENT` removes the key): how a real API drifts, one invoice at a time."""
    transactions: dict[str, Transaction] = field(default_factory=dict)
    last_transaction: str | None = None
    requests: deque[Seen] = field(default_factory=lambda: deque(maxlen=REQUESTS_KEPT))
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def add_invoices(self, invoices: Iterable[wire.Invoice]) -> None:
        for item in invoices:
            self.invoices[item.id] = item

    def count(self, method: str, path: str) -> int:
        """How many times a route was called: proves what the client did and did not retry."""
        return sum(1 for seen in self.requests if (seen.method, seen.path) == (method, path))

    async def hang(self) -> None:
        """Stall like a stuck server, but let go when the app shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.hang_seconds)


SANDBOX: web.AppKey[SandboxState] = web.AppKey("i3d_sandbox", SandboxState)
