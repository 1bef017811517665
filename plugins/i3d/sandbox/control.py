"""`/_sandbox/...`: the knobs over HTTP, for the demo and for load tests in other processes.

POST /_sandbox/faults     {"kind": "error"|"hang"|"malformed"|"shape"|"rate_limit",
                           "count": 1, "path": "/v3/..." (optional)}
DELETE /_sandbox/faults   clear them
GET|POST /_sandbox/settings {"latency", "hang_seconds", "return_url", "public_url", "form_style"}
POST /_sandbox/invoices   {"count": 500, "currency": "EUR"}: add generated invoices
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugins.i3d.sandbox.samples import generate_invoices
from plugins.i3d.sandbox.state import SANDBOX, FaultKind, FormStyle, SandboxState


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
    form_style: FormStyle | None = None


class MoreInvoices(Strict):
    count: int = Field(ge=1, le=100_000)
    currency: Literal["EUR", "USD", "GBP"] = "EUR"


async def parsed(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def settings_of(state: SandboxState) -> dict[str, Any]:
    fields = ("latency", "hang_seconds", "return_url", "public_url", "form_style")
    return {name: getattr(state, name) for name in fields}


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
    first = 900_000 + len(state.invoices)
    state.add_invoices(
        generate_invoices(
            order.count, now=int(time.time()), first_id=first, currency=order.currency
        )
    )
    return web.json_response({"invoices": len(state.invoices)}, status=201)


class Drift(BaseModel):
    invoice: str
    changes: dict[str, Any]


async def drift(request: web.Request) -> web.Response:
    """Make one invoice drift from the documents in the list (see `SandboxState.drift`)."""
    state = request.app[SANDBOX]
    order = await parsed(request, Drift)
    state.drift[order.invoice] = order.changes
    return web.json_response({"drifting": sorted(state.drift)}, status=201)


def setup(app: web.Application) -> None:
    app.router.add_post("/_sandbox/drift", drift)
    app.router.add_post("/_sandbox/faults", add_fault)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/settings", get_settings)
    app.router.add_post("/_sandbox/settings", change_settings)
    app.router.add_post("/_sandbox/invoices", add_invoices)
