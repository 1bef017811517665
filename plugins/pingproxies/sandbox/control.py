"""`/_sandbox/...`: the shared knobs (see `bot.sandbox.control`) and PingProxies' own.

Faults: "error", "hang", "malformed", "shape", "rate_limit", "two_factor", "lost_answer".
Settings: "latency", "hang_seconds", "return_url", "public_url", "two_factor",
"token_ttl", "rate_limit" (null: no limit), "hide_total", "require_client_ip",
"pay_created".
Drift changes one invoice in search and retrieve answers. Besides:

POST /_sandbox/expire_tokens every JWT handed out so far is refused from now on
GET /_sandbox/two_factor     {"last_code": "123456"}: the code the sandbox "e-mailed"
"""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import Field

from bot.sandbox import Controls, SandboxSettings
from plugins.pingproxies.sandbox.samples import generate_invoices
from plugins.pingproxies.sandbox.state import SANDBOX, SandboxState


class Settings(SandboxSettings):
    return_url: str = ""
    two_factor: bool = False
    token_ttl: float = Field(default=3600.0, ge=0)
    rate_limit: int | None = Field(default=None, ge=1)
    hide_total: bool = False
    require_client_ip: bool = False
    pay_created: bool = False


def more_invoices(state: SandboxState, count: int, currency: str) -> int:
    first = 100_000 + len(state.invoices)
    made = generate_invoices(count, now=int(time.time()), first=first, currency=currency)
    state.add_invoices(made)
    return len(state.invoices)


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[SANDBOX].expire_tokens()
    return web.Response(status=204)


async def two_factor(request: web.Request) -> web.Response:
    return web.json_response({"last_code": request.app[SANDBOX].last_code})


def setup(app: web.Application) -> None:
    Controls(SANDBOX, Settings, more_invoices, ("usd",)).setup(app)
    app.router.add_post("/_sandbox/expire_tokens", expire_tokens)
    app.router.add_get("/_sandbox/two_factor", two_factor)
