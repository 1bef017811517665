"""The invoice routes the plugin uses, served at the paths of `plugins.pingproxies.routes`.

Search answers in the documented search envelope; the others in `{data, message}`.
Registering from the shared route table keeps the sandbox and the client in step when a
guessed path is corrected.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from plugins.pingproxies import wire
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.sandbox import billing, login, search
from plugins.pingproxies.sandbox.replies import Refusal, body_as, ok
from plugins.pingproxies.sandbox.state import SANDBOX, SandboxState


async def search_invoices(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    query = dict(request.query)
    page, per_page = search.paging(query)
    found = search.search(state.invoices.values(), query)
    data = found[(page - 1) * per_page : page * per_page]
    answer = wire.SearchPage(
        data=data,
        item_count=len(data),
        message="Invoice search successful.",
        page=page,
        per_page=per_page,
        total_count=-1 if state.hide_total else len(found),
    )
    body = answer.to_json()
    body["data"] = [drifted(state, item) for item in body["data"]]
    return web.json_response(body)


def drifted(state: SandboxState, item: dict[str, Any]) -> dict[str, Any]:
    return state.drifted(item, item["invoice_id"], item["invoice_number"])


async def retrieve(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    item = state.invoices.get(request.match_info["id"])
    if item is None:
        raise Refusal(404, "Not Found", "The requested invoice could not be found.")
    return ok(drifted(state, item.to_json()), "Invoice successfully retrieved.")


async def pay_option(request: web.Request) -> web.Response:
    offer = billing.pay_option(request.app[SANDBOX], request.match_info["id"])
    return ok(offer, "Invoice pay options successfully retrieved.")


async def pay(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    body = await body_as(request, wire.PayRequest)
    origin = str(request.url.origin())
    result = billing.pay(state, request.match_info["id"], body, origin)
    message = (
        "Invoice successfully paid."
        if result.payment_type == "capture"
        else "Invoice payment redirect created."
    )
    if not state.pay_created:
        return ok(result, message)
    created = {"created": [result.payment_transaction_id], "data": result.to_json()}
    return web.json_response(created | {"message": message}, status=201)


def setup(app: web.Application) -> None:
    handlers = {
        Operation.LOGIN: login.login,
        Operation.INVOICE_SEARCH: search_invoices,
        Operation.INVOICE_RETRIEVE: retrieve,
        Operation.INVOICE_PAY_OPTION: pay_option,
        Operation.INVOICE_PAY: pay,
    }
    for operation, handler in handlers.items():
        route = ROUTES[operation]
        app.router.add_route(route.method, route.pattern(), handler)
