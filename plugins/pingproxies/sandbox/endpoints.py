"""The invoice routes the plugin uses, served at the paths of `plugins.pingproxies.routes`.

Search answers in the documented search envelope; the others in `{data, message}`.
Registering from the shared route table keeps the sandbox and the client in step when a
guessed path is corrected.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from plugins.pingproxies import wire
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.sandbox import billing, login, search
from plugins.pingproxies.sandbox.replies import Refusal, ok
from plugins.pingproxies.sandbox.state import SANDBOX


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
    return web.json_response(answer.to_json())


async def retrieve(request: web.Request) -> web.Response:
    item = request.app[SANDBOX].invoices.get(request.match_info["id"])
    if item is None:
        raise Refusal(404, "Not Found", "The requested invoice could not be found.")
    return ok(item, "Invoice successfully retrieved.")


async def pay_option(request: web.Request) -> web.Response:
    offer = billing.pay_option(request.app[SANDBOX], request.match_info["id"])
    return ok(offer, "Invoice pay options successfully retrieved.")


async def pay(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    try:
        body = wire.PayRequest.model_validate_json(await request.read())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Refusal(400, "Bad Request", f"{where}: {first['msg']}") from None
    origin = str(request.url.origin())
    result = billing.pay(state, request.match_info["id"], body, origin)
    message = (
        "Invoice successfully paid."
        if result.payment_type == "capture"
        else "Invoice payment redirect created."
    )
    return ok(result, message)


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
