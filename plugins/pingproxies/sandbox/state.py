"""Everything the sandbox remembers, in one typed object kept under `SANDBOX`.

Knobs (latency, injected faults, two-factor, token lifetime, rate limit, return URL)
live here too, so tests set them from Python and the control routes set the very same
fields over HTTP. `requests` keeps what reached the API, so tests can check every
header and body the client sent.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

from aiohttp import web

from bot.sandbox import SandboxBase, Seen
from plugins.pingproxies import wire
from plugins.pingproxies.sandbox.samples import RedirectMethod, SavedCard
from plugins.pingproxies.sandbox.tokens import Challenge, Tokens

FaultKind = Literal[
    "error", "hang", "malformed", "shape", "rate_limit", "wordless", "two_factor", "lost_answer"
]
CheckoutStatus = Literal["open", "paid", "cancelled", "failed"]

__all__ = ["SANDBOX", "Checkout", "CheckoutStatus", "FaultKind", "SandboxState", "Seen"]


@dataclass
class Checkout:
    """A redirect payment waiting on the sandbox's payment page."""

    id: str
    invoice_id: str
    method: RedirectMethod
    cents: int
    currency: str
    status: CheckoutStatus = "open"


@dataclass
class SandboxState(SandboxBase):
    FAULT_KINDS: ClassVar[tuple[str, ...]] = get_args(FaultKind)

    public_key: str
    private_key: str
    email: str
    password: str
    return_url: str
    invoices: dict[str, wire.Invoice]
    cards: list[SavedCard]
    methods: list[RedirectMethod]
    two_factor: bool = False
    token_ttl: float = 3600.0
    rate_limit: int | None = 30
    hide_total: bool = False
    require_client_ip: bool = False
    pay_created: bool = False
    """Whether Pay answers as a create does (201 with `created: [id]`): PingProxies
    answers 201 when something is created, and whether Pay counts is not documented."""
    checkouts: dict[str, Checkout] = field(default_factory=dict)
    tokens: Tokens = field(default_factory=Tokens)
    hits: deque[float] = field(default_factory=deque)

    def add_invoices(self, invoices: Iterable[wire.Invoice]) -> None:
        for item in invoices:
            self.invoices[item.invoice_id] = item

    @property
    def last_code(self) -> str | None:
        """The one-time code of the newest challenge: what the person would read in the e-mail."""
        return self.tokens.last_code

    def challenge(self) -> Challenge:
        return self.tokens.challenge(self.email)

    def expire_tokens(self) -> None:
        """Every JWT handed out so far is refused from now on: the client must log in again."""
        self.tokens.expire_all()

    def over_limit(self, now: float | None = None) -> int | None:
        """Seconds to wait if this request is over `rate_limit` per second, else None."""
        if self.rate_limit is None:
            return None
        moment = time.monotonic() if now is None else now
        while self.hits and self.hits[0] <= moment - 1.0:
            self.hits.popleft()
        if len(self.hits) >= self.rate_limit:
            return 1
        self.hits.append(moment)
        return None

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"


SANDBOX: web.AppKey[SandboxState] = web.AppKey("pingproxies_sandbox", SandboxState)
