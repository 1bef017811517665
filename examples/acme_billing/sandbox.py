"""A local stand-in of Acme Billing's API, strict like the real one: for the demo and tests.

Keep a sandbox faithful: refuse what the real API refuses (a wrong key, an unknown
invoice, paying a paid one) and answer in exactly the documented shapes.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aiohttp import web
from yarl import URL

KEY = "acme-demo-key"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class AcmeState:
    landing_url: str
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)


STATE = web.AppKey("acme_state", AcmeState)


def samples() -> dict[str, dict[str, Any]]:
    rows = [
        ("ac_1", "ACME-001", "Widgets, May", "EUR", "120.00", "open", "2026-12-20"),
        ("ac_2", "ACME-002", "Gadgets, May", "EUR", "35.50", "open", "2026-12-27"),
        ("ac_3", "ACME-003", "Support, April", "EUR", "80.00", "paid", "2026-11-30"),
    ]
    return {
        id_: {"id": id_, "number": number, "description": text, "currency": currency,
              "amount_due": "0.00" if status == "paid" else amount, "total": amount,
              "status": status, "due": due}
        for id_, number, text, currency, amount, status, due in rows
    }  # fmt: skip


@web.middleware
async def api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/pay/") or secrets.compare_digest(
        request.headers.get("X-Api-Key", ""), KEY
    ):
        return await handler(request)
    return web.json_response({"error": "bad key"}, status=401)


async def list_invoices(request: web.Request) -> web.Response:
    state = request.app[STATE]
    everything = list(state.invoices.values())
    if "number" in request.query:
        everything = [i for i in everything if i["number"] == request.query["number"]]
    offset = int(request.query.get("offset", "0"))
    limit = int(request.query.get("limit", "100"))
    page = everything[offset : offset + limit]
    following = offset + limit if offset + limit < len(everything) else None
    return web.json_response({"invoices": page, "next": following})


async def get_invoice(request: web.Request) -> web.Response:
    found = request.app[STATE].invoices.get(request.match_info["id"])
    if found is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response(found)


async def checkout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    invoice = state.invoices.get(request.match_info["id"])
    if invoice is None:
        return web.json_response({"error": "not found"}, status=404)
    if invoice["status"] != "open":
        return web.json_response({"error": "not payable"}, status=422)
    body = await request.json()
    checkout_id = f"co_{secrets.token_hex(4)}"
    state.checkouts[checkout_id] = {
        "invoice": invoice["id"], "status": "open", "state": body.get("state"),
        "return_url": body.get("return_url") or state.landing_url,
    }  # fmt: skip
    url = str(request.url.with_path(f"/pay/{checkout_id}").with_query(None))
    return web.json_response({"id": checkout_id, "url": url})


async def get_checkout(request: web.Request) -> web.Response:
    found = request.app[STATE].checkouts.get(request.match_info["id"])
    if found is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response({"id": request.match_info["id"], "status": found["status"]})


async def pay_page(request: web.Request) -> web.Response:
    checkout_id = request.match_info["id"]
    found = request.app[STATE].checkouts.get(checkout_id)
    if found is None:
        return web.Response(status=404, text="unknown checkout")
    invoice = request.app[STATE].invoices[found["invoice"]]
    html = (
        f"<!doctype html><title>Acme checkout</title><h1>Pay {escape(invoice['number'])}</h1>"
        f"<p>{escape(invoice['currency'])} {escape(invoice['amount_due'])}</p>"
        f"<form method=post action='/pay/{escape(checkout_id)}'>"
        "<button name=action value=pay>Pay</button>"
        "<button name=action value=cancel>Cancel</button></form>"
    )
    return web.Response(text=html, content_type="text/html")


async def pay(request: web.Request) -> web.Response:
    state = request.app[STATE]
    found = state.checkouts.get(request.match_info["id"])
    if found is None or found["status"] != "open":
        return web.Response(status=409, text="this checkout is closed")
    action = str((await request.post()).get("action", ""))
    found["status"] = "paid" if action == "pay" else "cancelled"
    if action == "pay":
        invoice = state.invoices[found["invoice"]]
        invoice.update(status="paid", amount_due="0.00")
    back = URL(found["return_url"]).update_query(state=found["state"] or "", result=action)
    raise web.HTTPSeeOther(str(back))


def create_app(landing_url: str) -> web.Application:
    app = web.Application(middlewares=[api_key])
    app[STATE] = AcmeState(landing_url, samples())
    app.router.add_get("/invoices", list_invoices)
    app.router.add_get("/invoices/{id}", get_invoice)
    app.router.add_post("/invoices/{id}/checkout", checkout)
    app.router.add_get("/checkouts/{id}", get_checkout)
    app.router.add_get("/pay/{id}", pay_page)
    app.router.add_post("/pay/{id}", pay)
    return app
