"""The sandbox app factory: a local i3D.net API plus its payment page, on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiohttp import web

from bot.sandbox import sandbox_app
from plugins.i3d import wire
from plugins.i3d.sandbox import control, endpoints, payment_page
from plugins.i3d.sandbox.middleware import i3d_api
from plugins.i3d.sandbox.samples import SandboxMethod, sample_invoices, sample_methods
from plugins.i3d.sandbox.state import SANDBOX, FormStyle, SandboxState

DEFAULT_TOKEN = "sandbox-i3d-token"
DEFAULT_RETURN_URL = "http://127.0.0.1:8000/landing/i3d"


def create_app(
    token: str = DEFAULT_TOKEN,
    *,
    return_url: str = DEFAULT_RETURN_URL,
    invoices: Iterable[wire.Invoice] | None = None,
    methods: Iterable[SandboxMethod] | None = None,
    account_credit: dict[str, str] | None = None,
    latency: float = 0.0,
    hang_seconds: float = 30.0,
    form_style: FormStyle = "pairs",
    public_url: str | None = None,
) -> web.Application:
    """A fresh sandbox; `app[SANDBOX]` holds its state and knobs.

    Without `invoices`/`methods` it serves the sample account (see `samples`).
    `public_url` is the origin browsers use, if not the one requests arrive on.
    """
    state = SandboxState(
        token=token,
        return_url=return_url,
        invoices={},
        methods=list(sample_methods() if methods is None else methods),
        account_credit=dict(account_credit or {}),
        latency=latency,
        hang_seconds=hang_seconds,
        form_style=form_style,
        public_url=public_url,
    )
    state.add_invoices(sample_invoices(int(time.time())) if invoices is None else invoices)
    return sandbox_app(
        SANDBOX, state, i3d_api, (endpoints.setup, payment_page.setup, control.setup)
    )
