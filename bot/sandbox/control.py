"""`/_sandbox/...`: a sandbox's knobs over HTTP, for the demo and for tests in other processes.

POST /_sandbox/faults     {"kind": one of the state's FAULT_KINDS, "count": 1, "path": ...,
                          "method": ...}
DELETE /_sandbox/faults   clear them
GET|POST /_sandbox/settings  the fields of the sandbox's `SandboxSettings`; only those sent change
POST /_sandbox/invoices   {"count": 500, "currency": ...}: add generated invoices
POST /_sandbox/drift      {"invoice": id or number, "changes": {field: value | "<absent>"}}
DELETE /_sandbox/drift    every invoice is served as it is again
GET /_sandbox/calls       {"METHOD /route": count}: every API request so far, by route

Every body is checked strictly; a wrong one answers 400 with the field and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.sandbox.http import BodyProblem, M, S, read_body

InvoiceMaker = Callable[[S, int, str], int]
"""Adds `count` generated invoices in a currency to the state; answers how many it holds."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SandboxSettings(Strict):
    """The knobs every sandbox has; a sandbox's own settings derive from it.

    Each field names a field of the state and has its type, so a null is accepted only
    where the state takes None. The defaults are never applied: only fields sent change.
    """

    latency: float = Field(default=0.0, ge=0)
    hang_seconds: float = Field(default=30.0, ge=0)
    public_url: str | None = None


class FaultOrder(Strict):
    kind: str
    count: int = Field(default=1, ge=1)
    path: str | None = None
    method: str | None = None


class MoreInvoices(Strict):
    count: int = Field(ge=1, le=100_000)
    currency: str | None = None


class Drift(Strict):
    invoice: str | int
    changes: dict[str, Any]


async def parsed(
    request: web.Request, model: type[M], decode: Callable[[bytes], Any] | None = None
) -> M:
    try:
        return await read_body(request, model, decode)
    except BodyProblem as problem:
        raise web.HTTPBadRequest(text=str(problem)) from None


@dataclass(frozen=True)
class Controls(Generic[S]):
    """The shared control routes of the sandbox whose state is under `key`.

    `currencies` are those `make_invoices` can generate; the first is the default.
    `decode` reads a drift's JSON where the API's own reading differs (exact decimals).
    """

    key: web.AppKey[S]
    settings: type[SandboxSettings]
    make_invoices: InvoiceMaker[S]
    currencies: tuple[str, ...]
    decode: Callable[[bytes], Any] | None = None

    def setup(self, app: web.Application) -> None:
        app.router.add_post("/_sandbox/faults", self.add_fault)
        app.router.add_delete("/_sandbox/faults", self.clear_faults)
        app.router.add_get("/_sandbox/settings", self.get_settings)
        app.router.add_post("/_sandbox/settings", self.change_settings)
        app.router.add_post("/_sandbox/invoices", self.add_invoices)
        app.router.add_post("/_sandbox/drift", self.add_drift)
        app.router.add_delete("/_sandbox/drift", self.clear_drift)
        app.router.add_get("/_sandbox/calls", self.get_calls)

    def settings_of(self, state: S) -> dict[str, Any]:
        return {name: getattr(state, name) for name in self.settings.model_fields}

    async def add_fault(self, request: web.Request) -> web.Response:
        state = request.app[self.key]
        order = await parsed(request, FaultOrder)
        try:
            state.inject(order.kind, order.count, order.path, order.method)
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"kind: {error}") from None
        return web.json_response({"faults": [asdict(fault) for fault in state.faults]}, status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        request.app[self.key].clear_faults()
        return web.Response(status=204)

    async def get_calls(self, request: web.Request) -> web.Response:
        return web.json_response(dict(request.app[self.key].calls))

    async def get_settings(self, request: web.Request) -> web.Response:
        return web.json_response(self.settings_of(request.app[self.key]))

    async def change_settings(self, request: web.Request) -> web.Response:
        state = request.app[self.key]
        for name, value in (
            (await parsed(request, self.settings)).model_dump(exclude_unset=True).items()
        ):
            setattr(state, name, value)
        return web.json_response(self.settings_of(state))

    async def add_invoices(self, request: web.Request) -> web.Response:
        order = await parsed(request, MoreInvoices)
        currency = order.currency or self.currencies[0]
        if currency not in self.currencies:
            choices = ", ".join(self.currencies)
            raise web.HTTPBadRequest(text=f"currency: this sandbox generates {choices}")
        held = self.make_invoices(request.app[self.key], order.count, currency)
        return web.json_response({"invoices": held}, status=201)

    async def add_drift(self, request: web.Request) -> web.Response:
        """Make one invoice drift from the documents (see `SandboxBase.drift`)."""
        state = request.app[self.key]
        order = await parsed(request, Drift, self.decode)
        state.drift[str(order.invoice)] = order.changes
        return web.json_response({"drifting": sorted(state.drift)}, status=201)

    async def clear_drift(self, request: web.Request) -> web.Response:
        request.app[self.key].drift.clear()
        return web.Response(status=204)
