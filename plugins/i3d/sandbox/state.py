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
from typing import Literal, get_args

from aiohttp import web

from plugins.i3d import wire
from plugins.i3d.sandbox.samples import SandboxMethod

FaultKind = Literal["error", "hang", "malformed", "shape", "rate_limit"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
FormStyle = Literal["pairs", "map"]
TxStatus = Literal["open", "success", "cancelled", "failed"]
REQUESTS_KEPT = 2000


@dataclass
class Fault:
    """The next `remaining` requests (to `path`, if given) misbehave as `kind`."""

    kind: FaultKind
    remaining: int = 1
    path: str | None = None


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


@dataclass
class SandboxState:
    token: str
    return_url: str
    invoices: dict[str, wire.Invoice]
    methods: list[SandboxMethod]
    latency: float = 0.0
    hang_seconds: float = 30.0
    form_style: FormStyle = "pairs"
    public_url: str | None = None
    account_credit: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    last_transaction: str | None = None
    requests: deque[Seen] = field(default_factory=lambda: deque(maxlen=REQUESTS_KEPT))
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def inject(self, kind: FaultKind, count: int = 1, path: str | None = None) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(kind, count, path)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, path: str) -> FaultKind | None:
        """The fault this request suffers, if any; each use counts one down."""
        for fault in self.faults:
            if fault.path is None or fault.path == path:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.kind
        return None

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
