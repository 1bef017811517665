"""`/_sandbox/...`: the shared knobs (see `bot.sandbox.control`) and Payfirma's own.

Faults: "error", "hang", "malformed", "shape", "rate_limit", "wordless", "unauthorized",
"decline", "bad_request" (400), "forbidden" (403), "lost" (carried out, then the connection
drops before the answer; give "method": "POST" to hit a create, not the read before it).
Settings: "latency", "hang_seconds", "return_url" (null: the client's), "public_url",
"token_lifetime", "tax_rounding", "sending_issues_drafts" (false: an e-mailed draft stays
a draft), "card_payments_mark_paid" (true: an approved card payment marks its invoice
PAID, which nothing documents). Generated invoices in CAD or USD. Drift changes one
invoice in list, customer list and retrieve answers. Besides:

POST /_sandbox/tokens/expire   every access token issued so far stops working
GET /_sandbox/emails      the invoices "e-mailed" so far, and to whom
"""

from __future__ import annotations

import time
from dataclasses import asdict

from aiohttp import web
from pydantic import Field

from bot.sandbox import Controls, SandboxSettings
from plugins.payfirma import wire
from plugins.payfirma.sandbox.samples import generate_invoices
from plugins.payfirma.sandbox.state import SANDBOX, SandboxState, TaxRounding


class Settings(SandboxSettings):
    return_url: str | None = None
    token_lifetime: int = Field(default=3600, ge=1)
    tax_rounding: TaxRounding = "line"
    sending_issues_drafts: bool = True
    card_payments_mark_paid: bool = False


def more_invoices(state: SandboxState, count: int, currency: str) -> int:
    first = max(300_000, state.next_invoice_id())
    state.add_invoices(
        generate_invoices(count, now=int(time.time()), first_id=first, currency=currency)
    )
    return len(state.invoices)


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[SANDBOX].expire_tokens()
    return web.Response(status=204)


async def emails(request: web.Request) -> web.Response:
    return web.json_response([asdict(email) for email in request.app[SANDBOX].emails])


def setup(app: web.Application) -> None:
    Controls(SANDBOX, Settings, more_invoices, ("CAD", "USD"), decode=wire.decode).setup(app)
    app.router.add_post("/_sandbox/tokens/expire", expire_tokens)
    app.router.add_get("/_sandbox/emails", emails)
