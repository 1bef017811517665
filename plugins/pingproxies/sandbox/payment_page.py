"""The sandbox's stand-in for Stripe Checkout, Bitpay and Coinpayments: one plain HTML page.

Invoice Pay's `payment_redirect_url` leads here. Pay marks the invoice paid, Cancel
leaves it open; either way the browser is sent (303) to the configured return URL with
the invoice id and the checkout's status: a hint the bot must verify, as with the real ones.
"""

from __future__ import annotations

from html import escape

from aiohttp import web
from yarl import URL

from bot.money import Money
from plugins.pingproxies.sandbox import billing
from plugins.pingproxies.sandbox.state import SANDBOX, Checkout, SandboxState

ACTIONS = ("pay", "cancel")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:2em auto}}
button{{margin-right:.5em;padding:.4em 1em}}</style>
</head><body><h1>{title}</h1>{content}</body></html>"""


def page(title: str, content: str, status: int = 200) -> web.Response:
    html = PAGE.format(title=escape(title), content=content)
    return web.Response(text=html, content_type="text/html", status=status)


def summary(state: SandboxState, checkout: Checkout) -> str:
    item = state.invoices[checkout.invoice_id]
    amount = Money.from_minor(checkout.cents, checkout.currency.upper())
    return (
        f"<p>Invoice <strong>{escape(item.invoice_number)}</strong>: "
        f"{escape(item.invoice_description or '')}</p>"
        f"<p>Amount: <strong>{amount}</strong></p>"
        f"<p>Paying with {escape(checkout.method.name)}</p>"
    )


async def show(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    checkout = state.checkouts.get(request.match_info["id"])
    if checkout is None:
        return page("Unknown payment", "<p>This payment link is not valid.</p>", status=404)
    if checkout.status != "open":
        return page("Payment already handled", f"<p>This payment is {checkout.status}.</p>")
    buttons = "".join(
        f'<button type="submit" name="action" value="{action}">{action.title()}</button>'
        for action in ACTIONS
    )
    form = f'<form method="post" action="/checkout/{escape(checkout.id)}">{buttons}</form>'
    title = f"Sandbox {checkout.method.platform.title()} checkout"
    return page(title, summary(state, checkout) + form)


async def decide(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    checkout = state.checkouts.get(request.match_info["id"])
    action = str((await request.post()).get("action", ""))
    if checkout is None or action not in ACTIONS:
        return page("Bad request", "<p>Unknown payment or action.</p>", status=400)
    if checkout.status == "open":
        if action == "cancel":
            checkout.status = "cancelled"
        elif billing.settle(state, checkout.invoice_id):
            checkout.status = "paid"
        else:
            checkout.status = "failed"
    back = URL(state.return_url).update_query(
        invoice_id=checkout.invoice_id, checkout_id=checkout.id, status=checkout.status
    )
    raise web.HTTPSeeOther(location=str(back))


def setup(app: web.Application) -> None:
    app.router.add_get("/checkout/{id}", show)
    app.router.add_post("/checkout/{id}", decide)
