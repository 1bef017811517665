"""The sandbox app factory: Payfirma's sign-in service, API gateway and hosted payment
page in one loopback app, so a provider's auth and gateway URLs can both point at it."""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiohttp import web

from bot.sandbox import sandbox_app
from plugins.payfirma import wire
from plugins.payfirma.sandbox import control, endpoints, oauth, payment_page, payments
from plugins.payfirma.sandbox.middleware import payfirma_api
from plugins.payfirma.sandbox.samples import sample_invoices
from plugins.payfirma.sandbox.state import (
    DEFAULT_HPP_TOKEN,
    SANDBOX,
    SandboxState,
    TaxRounding,
)

DEFAULT_CLIENT_ID = "sandbox-payfirma-client"
DEFAULT_CLIENT_SECRET = "sandbox-payfirma-secret"
DEFAULT_RETURN_URL = "http://127.0.0.1:8000/landing/payfirma"


def create_app(
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    *,
    return_url: str | None = DEFAULT_RETURN_URL,
    hpp_token: str = DEFAULT_HPP_TOKEN,
    invoices: Iterable[wire.Invoice] | None = None,
    latency: float = 0.0,
    hang_seconds: float = 30.0,
    token_lifetime: int = 3600,
    tax_rounding: TaxRounding = "line",
    public_url: str | None = None,
) -> web.Application:
    """A fresh sandbox; `app[SANDBOX]` holds its state and knobs.

        `return_url` plays PayHQ's Hosted Pay Page setting; None means "use the return URL
        the client sends". `hpp_token` plays the token PayHQ generates for its Hosted Pay Page:
    HPP init takes it, and nothing else (the documents: `Authorization: Bearer <HPP token>`).
        Without `invoices` it serves the sample account (see `samples`).
    """
    state = SandboxState(
        client_id=client_id,
        client_secret=client_secret,
        return_url=return_url,
        invoices={},
        hpp_token=hpp_token,
        latency=latency,
        hang_seconds=hang_seconds,
        token_lifetime=token_lifetime,
        tax_rounding=tax_rounding,
        public_url=public_url,
    )
    state.add_invoices(sample_invoices(int(time.time())) if invoices is None else invoices)
    parts = (oauth, endpoints, payments, payment_page, control)
    return sandbox_app(SANDBOX, state, payfirma_api, [part.setup for part in parts])
