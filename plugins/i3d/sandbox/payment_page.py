"""The sandbox's stand-in for i3D's payment service provider: a plain HTML page.

The browser arrives by POSTing register's `postFormInputs` to `requestUrl`, decides
with Pay, Decline or Cancel, and is sent (303) to the configured return URL with the
transaction id and status in the query: a hint the bot must verify, as with the real PSP.
"""

from __future__ import annotations

from html import escape

from aiohttp import web
from yarl import URL

from bot.money import Money
from plugins.i3d.sandbox import billing
from plugins.i3d.sandbox.state import SANDBOX, SandboxState, Transaction

ACTIONS = ("pay", "decline", "cancel")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:2em auto}}
td,th{{padding:.2em .6em;text-align:left}}button{{margin-right:.5em;padding:.4em 1em}}</style>
</head><body><h1>{title}</h1>{content}</body></html>"""


def page(title: str, content: str, status: int = 200) -> web.Response:
    html = PAGE.format(title=escape(title), content=content)
    return web.Response(text=html, content_type="text/html", status=status)


def summary(state: SandboxState, tx: Transaction) -> str:
    lines = [(key, 1) for key in tx.invoice_ids] + [(key, -1) for key in tx.credit_ids]
    rows = "".join(
        f"<tr><td>{escape(item.invoiceNumber)}</td><td>{escape(item.description)}</td>"
        f"<td>{Money.from_minor(sign * int(item.remainingAmount), item.currency)}</td></tr>"
        for item, sign in ((state.invoices[key], sign) for key, sign in lines)
    )
    issuer = f" ({escape(tx.issuer.name)})" if tx.issuer else ""
    total = Money.from_minor(tx.total_cents, tx.currency)
    return (
        f"<table><tr><th>Invoice</th><th>Description</th><th>Amount</th></tr>{rows}</table>"
        f"<p>Total: <strong>{total}</strong></p>"
        f"<p>Method: {escape(tx.method.name)}{issuer}</p>"
    )


async def show(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    form = await request.post()
    tx = state.transactions.get(str(form.get("transactionId", "")))
    if tx is None:
        return page("Unknown payment", "<p>This payment link is not valid.</p>", status=404)
    if tx.status != "open":
        return page("Payment already handled", f"<p>{escape(tx.message)}</p>")
    buttons = "".join(
        f'<button type="submit" name="action" value="{action}">{action.title()}</button>'
        for action in ACTIONS
    )
    form_html = (
        '<form method="post" action="/psp/pay/decide">'
        f'<input type="hidden" name="transactionId" value="{escape(tx.id)}">{buttons}</form>'
    )
    return page("Sandbox payment provider", summary(state, tx) + form_html)


async def decide(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    form = await request.post()
    tx = state.transactions.get(str(form.get("transactionId", "")))
    action = str(form.get("action", ""))
    if tx is None or action not in ACTIONS:
        return page("Bad request", "<p>Unknown payment or action.</p>", status=400)
    if tx.status == "open":
        if action == "pay":
            billing.settle(state, tx)
        elif action == "decline":
            # Named by its method: a PayPal payment is not declined by a bank.
            tx.status, tx.message = "failed", f"{tx.method.name} declined the payment."
        else:
            tx.status, tx.message = "cancelled", "You cancelled the payment."
    back = URL(state.return_url).update_query(transactionId=tx.id, status=tx.status)
    raise web.HTTPSeeOther(location=str(back))


def setup(app: web.Application) -> None:
    app.router.add_post("/psp/pay", show)
    app.router.add_post("/psp/pay/decide", decide)
