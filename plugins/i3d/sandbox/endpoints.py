"""The four i3D routes the plugin uses, answering in i3D's documented shapes.

GETs answer with JSON arrays (v3's rule), except paymentLanding, and register
answers with one object, as their schemas say; `answer_style = "array"` wraps those
two in a one-item array, as v3's habit would.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import BodyProblem, read_body
from plugins.i3d import wire
from plugins.i3d.sandbox import billing
from plugins.i3d.sandbox.replies import ENTITY_NOT_FOUND, INVALID_INPUT, Refusal, ok
from plugins.i3d.sandbox.state import SANDBOX, SandboxState, Transaction

DEFAULT_RANGE = (0, 25)
MAX_RESULTS = 1000


def requested_range(header: str | None) -> tuple[int, int]:
    """`RANGED-DATA: start=0,results=25`; either key may be left out."""
    if header is None:
        return DEFAULT_RANGE
    values = dict(zip(("start", "results"), DEFAULT_RANGE, strict=True))
    for part in header.split(","):
        key, _, value = (piece.strip() for piece in part.partition("="))
        if key not in values or not value.isdigit():
            raise Refusal(
                400,
                "RANGED-DATA must look like start=0,results=25",
                code=INVALID_INPUT,
                property="RANGED-DATA",
            )
        values[key] = int(value)
    return values["start"], min(values["results"] or DEFAULT_RANGE[1], MAX_RESULTS)


async def list_invoices(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    start, results = requested_range(request.headers.get("RANGED-DATA"))
    everything = list(state.invoices.values())
    page = everything[start : start + results]
    ranged = f"start={start},results={len(page)},total={len(everything)}"
    return ok(
        [state.drifted(item.to_json(), item.id, item.invoiceNumber) for item in page],
        **{"RANGED-DATA": ranged},
    )


async def prepare(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    ids = request.query.get("invoiceIds")
    if ids is None:
        raise Refusal(422, "invoiceIds is required", code=INVALID_INPUT, property="invoiceIds")
    return ok([with_drift(state, billing.prepare(state, billing.select(state, ids)))])


def with_drift(state: SandboxState, answer: wire.WireModel) -> dict[str, Any]:
    """A pay answer whose invoices drift as they do in the list: i3D serves one invoice
    object, whichever route carries it."""
    body = answer.to_json()
    for key in ("invoicesForPay", "creditInvoices", "invoices"):
        if isinstance(body.get(key), list):
            body[key] = [
                state.drifted(item, item["id"], item["invoiceNumber"]) for item in body[key]
            ]
    return body


async def register(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    try:
        body = await read_body(request, wire.PayRegister)
    except BodyProblem as problem:
        raise Refusal(422, problem.problem, code=INVALID_INPUT, property=problem.where) from None
    transaction = billing.register(state, body)
    return one(state, with_drift(state, registered(state, transaction, str(request.url.origin()))))


def registered(state: SandboxState, tx: Transaction, origin: str) -> wire.PayRegisterResponse:
    fields = {"transactionId": tx.id, "locale": "en_GB"}
    if state.form_style == "pairs":
        inputs = [{"name": name, "value": value} for name, value in fields.items()]
    else:
        inputs = [dict(fields)]
    return wire.PayRegisterResponse(
        requestUrl=f"{(state.public_url or origin).rstrip('/')}/psp/pay",
        postFormInputs=inputs,
        accountCredit=state.account_credit.get(tx.currency, "0"),
        totalAmount=str(tx.total_cents),
        paymentMethod=tx.method,
        invoicesForPay=[state.invoices[key] for key in tx.invoice_ids],
    )


async def payment_landing(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    tx = state.transactions.get(state.last_transaction or "")
    if tx is None:
        raise Refusal(404, "No payment transaction found", code=ENTITY_NOT_FOUND)
    landed = wire.PaymentLandingResponse(
        message=tx.message,
        status=tx.status,
        paymentMethod=tx.method.name,
        invoices=[state.invoices[key] for key in tx.invoice_ids],
    )
    return one(state, with_drift(state, landed))


def one(state: SandboxState, body: dict[str, Any]) -> web.Response:
    return ok([body] if state.answer_style == "array" else body)


def setup(app: web.Application) -> None:
    app.router.add_get("/v3/account/invoice", list_invoices)
    app.router.add_get("/v3/account/invoice/pay/prepare", prepare)
    app.router.add_post("/v3/account/invoice/pay/register", register)
    app.router.add_get("/v3/account/invoice/pay/paymentLanding", payment_landing)
