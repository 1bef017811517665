"""The sandbox app factory: a local PingProxies Private User API plus its payment page."""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiohttp import web

from bot.sandbox import sandbox_app
from plugins.pingproxies import wire
from plugins.pingproxies.sandbox import control, endpoints, payment_page
from plugins.pingproxies.sandbox.middleware import pingproxies_api
from plugins.pingproxies.sandbox.samples import (
    RedirectMethod,
    SavedCard,
    sample_cards,
    sample_invoices,
    sample_methods,
)
from plugins.pingproxies.sandbox.state import SANDBOX, SandboxState

DEFAULT_PUBLIC_KEY = "sandbox-app-public-key"
DEFAULT_PRIVATE_KEY = "sandbox-app-private-key"
DEFAULT_EMAIL = "billing@acme.test"
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_RETURN_URL = "http://127.0.0.1:8000/landing/pingproxies"
DEFAULT_RATE_LIMIT = 30


def create_app(
    public_key: str = DEFAULT_PUBLIC_KEY,
    private_key: str = DEFAULT_PRIVATE_KEY,
    *,
    email: str = DEFAULT_EMAIL,
    password: str = DEFAULT_PASSWORD,
    return_url: str = DEFAULT_RETURN_URL,
    invoices: Iterable[wire.Invoice] | None = None,
    cards: Iterable[SavedCard] | None = None,
    methods: Iterable[RedirectMethod] | None = None,
    latency: float = 0.0,
    hang_seconds: float = 30.0,
    two_factor: bool = False,
    token_ttl: float = 3600.0,
    rate_limit: int | None = DEFAULT_RATE_LIMIT,
    public_url: str | None = None,
) -> web.Application:
    """A fresh sandbox; `app[SANDBOX]` holds its state and knobs.

    Without `invoices`/`cards`/`methods` it serves the sample account (see `samples`).
    `rate_limit` is requests per second before 429 (None: no limit). `public_url` is
    the origin browsers use, if not the one requests arrive on.
    """
    state = SandboxState(
        public_key=public_key,
        private_key=private_key,
        email=email,
        password=password,
        return_url=return_url,
        invoices={},
        cards=list(sample_cards() if cards is None else cards),
        methods=list(sample_methods() if methods is None else methods),
        latency=latency,
        hang_seconds=hang_seconds,
        public_url=public_url,
        two_factor=two_factor,
        token_ttl=token_ttl,
        rate_limit=rate_limit,
    )
    state.add_invoices(sample_invoices(int(time.time())) if invoices is None else invoices)
    parts = (endpoints.setup, payment_page.setup, control.setup)
    return sandbox_app(SANDBOX, state, pingproxies_api, parts)
