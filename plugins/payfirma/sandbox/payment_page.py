"""The sandbox's hosted payment page: plain HTML with a card form, prefilled with Visa's
test card 4111 1111 1111 1111 as in Payfirma's HPP demo.

Paying runs Payfirma's sandbox processor rule (odd whole dollars approved, even
declined) and sends the browser (303) to the return URL with `result`, `lookup_id` and
`state`: a hint the bot must verify. Cancelling returns `result=CANCELED` and no
transaction.

Each page takes one card, declined or not. Payfirma's documents show the return only
after a successful payment and say nothing of a second card on the same page, so the
sandbox does not offer one: a declined customer needs a new page (a new init). Its
processor declines by amount, so at an even amount every card is declined; an injected
`decline` fault on `PAY_ROUTE` declines the next card at any amount, as a card's issuer
does in production.
"""

from __future__ import annotations

import time
from html import escape

from aiohttp import web
from yarl import URL

from bot.money import Money
from plugins.payfirma.sandbox import billing
from plugins.payfirma.sandbox.state import SANDBOX, HppSession, SandboxState

TEST_CARD = "4111 1111 1111 1111"
PAY_ROUTE = "/hpp/{session}/pay"
ISSUER_DECLINE = "Declined by the card issuer (sandbox fault)"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:30em;margin:2em auto}}label{{display:block;
margin:.6em 0}}input{{font-size:1em;padding:.3em}}button{{margin:1em .5em 0 0;padding:.4em 1em}}
.problem{{color:#b00}}</style></head><body><h1>{title}</h1>{content}</body></html>"""


def page(title: str, content: str, status: int = 200) -> web.Response:
    html = PAGE.format(title=escape(title), content=content)
    return web.Response(text=html, content_type="text/html", status=status)


def card_form(session: HppSession, problem: str = "") -> str:
    expiry = f"12/{(time.gmtime().tm_year + 3) % 100:02d}"
    fields = [
        ("card_number", "Card number", TEST_CARD),
        ("card_expiry", "Expiry (MM/YY)", expiry),
        ("cvv2", "CVV", "123"),
        ("cardholder", "Name on card", session.name),
    ]
    inputs = "".join(
        f'<label>{label} <input name="{name}" value="{escape(value)}"></label>'
        for name, label, value in fields
    )
    what = f" for invoice {escape(session.custom_id)}" if session.custom_id else ""
    amount = Money.of(session.amount, session.currency)
    warning = f'<p class="problem">{escape(problem)}</p>' if problem else ""
    return (
        f"<p>Pay <strong>{amount}</strong>{what} to Sandbox Merchant Ltd.</p>{warning}"
        f'<form method="post" action="/hpp/{escape(session.id)}/pay">{inputs}'
        '<button type="submit" name="action" value="pay">Pay</button>'
        '<button type="submit" name="action" value="cancel">Cancel</button></form>'
    )


def card_problem(number: str, expiry: str, cvv: str) -> str | None:
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn(digits):
        return "Check the card number."
    month, _, year = expiry.partition("/")
    now = time.gmtime()
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12):
        return "Write the expiry as MM/YY."
    if (2000 + int(year), int(month)) < (now.tm_year, now.tm_mon):
        return "This card has expired."
    if not (cvv.isdigit() and 3 <= len(cvv) <= 4):
        return "The CVV is the 3 or 4 digits on the card."
    return None


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def back(session: HppSession, **params: str | int) -> web.HTTPSeeOther:
    extra = {"state": session.state}  # custom_id stays with the transaction, as documented
    query = {**params, **{key: value for key, value in extra.items() if value is not None}}
    return web.HTTPSeeOther(location=str(URL(session.return_url).update_query(query)))


async def show(request: web.Request) -> web.Response:
    session = request.app[SANDBOX].sessions.get(request.match_info["session"])
    if session is None:
        return page("Unknown payment", "<p>This payment link is not valid.</p>", status=404)
    if session.used:
        return page("Payment already handled", "<p>This page was already used.</p>", status=409)
    return page("Payfirma sandbox payment", card_form(session))


async def pay(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    session = state.sessions.get(request.match_info["session"])
    if session is None or session.used:
        return await show(request)
    form = await request.post()
    if form.get("action") == "cancel":
        session.used = True
        raise back(session, result="CANCELED")
    number, expiry, cvv = (
        str(form.get(name, "")).strip() for name in ("card_number", "card_expiry", "cvv2")
    )
    problem = card_problem(number, expiry, cvv)
    if problem:
        return page("Payfirma sandbox payment", card_form(session, problem), status=422)
    session.used = True
    tx = billing.charge(
        state,
        session.amount,
        session.currency,
        session.custom_id,
        source="HPP",
        card_suffix=number.replace(" ", "")[-4:],
        declined=issuer_declines(state),
    )
    # As Payfirma's own demo shows the return: result, lookup_id and state, nothing more.
    raise back(session, result="success" if tx.result == "APPROVED" else "failure",
               lookup_id=tx.lookup_id)  # fmt: skip


def issuer_declines(state: SandboxState) -> str | None:
    """The issuer's reason when a `decline` fault waits on `PAY_ROUTE` (taken once)."""
    for fault in state.faults:
        if fault.kind == "decline" and fault.path == PAY_ROUTE:
            fault.remaining -= 1
            if fault.remaining <= 0:
                state.faults.remove(fault)
            return ISSUER_DECLINE
    return None


def setup(app: web.Application) -> None:
    app.router.add_get("/hpp/{session}", show)
    app.router.add_post(PAY_ROUTE, pay)
