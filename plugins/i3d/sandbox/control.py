"""`/_sandbox/...`: the shared knobs (see `bot.sandbox.control`) with i3D's own settings.

Faults: "error", "hang", "malformed", "shape", "rate_limit". Settings: "latency",
"hang_seconds", "return_url", "public_url", "form_style", "answer_style". Generated
invoices in EUR, USD or GBP. Drift changes one invoice in the list's answer. Besides:

POST /_sandbox/paid   {"invoice": id}: book one open invoice paid, as if its money came
                      by other means (a bank transfer): one invoice of a set, say
"""

from __future__ import annotations

import time

from aiohttp import web

from bot.sandbox import Controls, SandboxSettings, Strict
from bot.sandbox.control import parsed
from plugins.i3d.sandbox import billing
from plugins.i3d.sandbox.samples import generate_invoices
from plugins.i3d.sandbox.state import SANDBOX, AnswerStyle, FormStyle, SandboxState


class Settings(SandboxSettings):
    return_url: str = ""
    form_style: FormStyle = "pairs"
    answer_style: AnswerStyle = "object"


def more_invoices(state: SandboxState, count: int, currency: str) -> int:
    first = 900_000 + len(state.invoices)
    made = generate_invoices(count, now=int(time.time()), first_id=first, currency=currency)
    state.add_invoices(made)
    return len(state.invoices)


class Booked(Strict):
    invoice: str


async def book_paid(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    order = await parsed(request, Booked)
    item = state.invoices.get(order.invoice)
    if item is None:
        raise web.HTTPBadRequest(text=f"invoice: this sandbox has no invoice {order.invoice!r}")
    if not billing.is_open(item):
        raise web.HTTPBadRequest(text=f"invoice: {item.invoiceNumber} is not open")
    billing.mark_paid(state, order.invoice)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    Controls(SANDBOX, Settings, more_invoices, ("EUR", "USD", "GBP")).setup(app)
    app.router.add_post("/_sandbox/paid", book_paid)
