"""`/_sandbox/...`: the knobs over HTTP, for the demo and for load tests in other processes.

POST /_sandbox/faults     {"kind": "error"|"hang"|"malformed"|"shape"|"rate_limit"|
                           "unauthorized"|"decline", "count": 1, "path": "/invoice" (optional)}
DELETE /_sandbox/faults   clear them
GET|POST /_sandbox/settings {"latency", "hang_seconds", "return_url", "public_url",
                           "token_lifetime", "tax_rounding"}
POST /_sandbox/invoices   {"count": 500, "currency": "CAD"}: add generated invoices
POST /_sandbox/tokens/expire   every access token issued so far stops working
GET /_sandbox/emails      the invoices "e-mailed" so far, and to whom
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugins.payfirma.sandbox.samples import generate_invoices
from plugins.payfirma.sandbox.state import SANDBOX, FaultKind, SandboxState, TaxRounding


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


M = TypeVar("M", bound=Strict)
SETTINGS = ("latency", "hang_seconds", "return_url", "public_url", "token_lifetime", "tax_rounding")


class FaultOrder(Strict):
    kind: FaultKind
    count: int = Field(default=1, ge=1)
    path: str | None = None


class Settings(Strict):
    latency: float | None = Field(default=None, ge=0)
    hang_seconds: float | None = Field(default=None, ge=0)
    return_url: str | None = None
    public_url: str | None = None
    token_lifetime: int | None = Field(default=None, ge=1)
    tax_rounding: TaxRounding | None = None


class MoreInvoices(Strict):
    count: int = Field(ge=1, le=100_000)
    currency: Literal["CAD", "USD"] = "CAD"


async def parsed(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def settings_of(state: SandboxState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in SETTINGS}


async def add_fault(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    order = await parsed(request, FaultOrder)
    state.inject(order.kind, order.count, order.path)
    return web.json_response({"faults": [asdict(fault) for fault in state.faults]}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[SANDBOX].clear_faults()
    return web.Response(status=204)


async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(settings_of(request.app[SANDBOX]))


async def change_settings(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    for name, value in (await parsed(request, Settings)).model_dump(exclude_unset=True).items():
        setattr(state, name, value)
    return web.json_response(settings_of(state))


async def add_invoices(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    order = await parsed(request, MoreInvoices)
    first = max(300_000, state.next_invoice_id())
    made = generate_invoices(
        order.count, now=int(time.time()), first_id=first, currency=order.currency
    )
    state.add_invoices(made)
    return web.json_response({"invoices": len(state.invoices)}, status=201)


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[SANDBOX].expire_tokens()
    return web.Response(status=204)


async def emails(request: web.Request) -> web.Response:
    return web.json_response([asdict(email) for email in request.app[SANDBOX].emails])


def setup(app: web.Application) -> None:
    app.router.add_post("/_sandbox/faults", add_fault)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/settings", get_settings)
    app.router.add_post("/_sandbox/settings", change_settings)
    app.router.add_post("/_sandbox/invoices", add_invoices)
    app.router.add_post("/_sandbox/tokens/expire", expire_tokens)
    app.router.add_get("/_sandbox/emails", emails)
