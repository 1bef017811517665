"""`/_sandbox/...`: the knobs over HTTP, for the demo and for load tests in other processes.

POST /_sandbox/faults        {"kind": "error"|"hang"|"malformed"|"shape"|"rate_limit"|
                              "two_factor"|"lost_answer", "count": 1,
                              "path": "/1.0/..." (optional)}
DELETE /_sandbox/faults      clear them
GET|POST /_sandbox/settings  {"latency", "hang_seconds", "return_url", "public_url",
                              "two_factor", "token_ttl", "rate_limit", "hide_total",
                              "require_client_ip"}
POST /_sandbox/expire_tokens every JWT handed out so far is refused from now on
GET /_sandbox/two_factor     {"last_code": "123456"}: the code the sandbox "e-mailed"
POST /_sandbox/invoices      {"count": 500}: add generated invoices
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugins.pingproxies.sandbox.samples import generate_invoices
from plugins.pingproxies.sandbox.state import SANDBOX, FaultKind, SandboxState

SETTINGS = (
    "latency",
    "hang_seconds",
    "return_url",
    "public_url",
    "two_factor",
    "token_ttl",
    "rate_limit",
    "hide_total",
    "require_client_ip",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


M = TypeVar("M", bound=Strict)


class FaultOrder(Strict):
    kind: FaultKind
    count: int = Field(default=1, ge=1)
    path: str | None = None


class Settings(Strict):
    latency: float | None = Field(default=None, ge=0)
    hang_seconds: float | None = Field(default=None, ge=0)
    return_url: str | None = None
    public_url: str | None = None
    two_factor: bool | None = None
    token_ttl: float | None = Field(default=None, ge=0)
    rate_limit: int | None = Field(default=None, ge=1)
    hide_total: bool | None = None
    require_client_ip: bool | None = None


class MoreInvoices(Strict):
    count: int = Field(ge=1, le=100_000)


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
    """Only the fields sent change; `"rate_limit": null` turns the limit off."""
    state = request.app[SANDBOX]
    for name, value in (await parsed(request, Settings)).model_dump(exclude_unset=True).items():
        if value is not None or name in ("rate_limit", "public_url"):
            setattr(state, name, value)
    return web.json_response(settings_of(state))


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[SANDBOX].expire_tokens()
    return web.Response(status=204)


async def two_factor(request: web.Request) -> web.Response:
    return web.json_response({"last_code": request.app[SANDBOX].last_code})


async def add_invoices(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    order = await parsed(request, MoreInvoices)
    first = 100_000 + len(state.invoices)
    state.add_invoices(generate_invoices(order.count, now=int(time.time()), first=first))
    return web.json_response({"invoices": len(state.invoices)}, status=201)


def setup(app: web.Application) -> None:
    app.router.add_post("/_sandbox/faults", add_fault)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/settings", get_settings)
    app.router.add_post("/_sandbox/settings", change_settings)
    app.router.add_post("/_sandbox/expire_tokens", expire_tokens)
    app.router.add_get("/_sandbox/two_factor", two_factor)
    app.router.add_post("/_sandbox/invoices", add_invoices)
