"""Taking money: hosted payment page init, transaction lookup, and a direct sale.

HPP init answers `{"url": ...}`, as Payfirma's demo reads it; the page itself is in
`payment_page`. The return URL is the one configured "in PayHQ" (the `return_url` knob):
the documented init body has none, so without it init is refused. A direct sale takes
card fields or a token (both is 400), charges at once, and answers 402, Payfirma's code
for a valid request that did not complete, on a decline.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from yarl import URL

from plugins.payfirma import wire
from plugins.payfirma.sandbox import billing
from plugins.payfirma.sandbox.replies import NOT_FOUND, Refusal, error, ok, parsed
from plugins.payfirma.sandbox.state import SANDBOX, HppSession, SandboxState

HPP_INIT = "/merchant-service/hpp/init"
LOOKUP = "/transaction-service/transaction/lookup/{lookup_id}"
SALE = "/transaction-service/sale"


CARD_FIELDS = ("card_number", "card_expiry_month", "card_expiry_year", "cvv2")


class Sale(BaseModel):
    """Card fields or an encrypted `token`, never both (Payfirma answers 400 then)."""

    model_config = ConfigDict(extra="allow")

    amount: wire.Dollars
    currency: str
    card_number: str | None = None
    card_expiry_month: int | None = None
    card_expiry_year: int | None = None
    cvv2: str | int | None = None
    token: str | None = None
    custom_id: str | None = None

    def card_suffix(self) -> str:
        """The card's last four digits; a token names none we can see."""
        if self.token is not None:
            if any(getattr(self, name) is not None for name in CARD_FIELDS):
                raise Refusal(400, "Send either card fields or a token, not both")
            return ""
        missing = [name for name in CARD_FIELDS if getattr(self, name) is None]
        if missing:
            raise Refusal(400, f"{', '.join(missing)}: required without a token")
        return (self.card_number or "").replace(" ", "")[-4:]


def origin(state: SandboxState, request: web.Request) -> str:
    return (state.public_url or str(request.url.origin())).rstrip("/")


def checked(amount: Decimal, currency: str) -> str:
    code = currency.strip().upper()
    if code not in billing.CURRENCIES:
        raise Refusal(400, f"currency must be CAD or USD, not {currency!r}")
    if amount <= 0 or amount != billing.cents(amount):
        raise Refusal(400, "amount must be positive dollars and cents")
    return code


async def hpp_init(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    body = await parsed(request, wire.HppRequest)
    extra = (body.tax or Decimal(0)) + (body.shipping_charge or Decimal(0))
    currency = checked(body.amount + extra, body.currency)
    domain = URL(body.domain)
    if domain.scheme not in ("http", "https") or not domain.host:
        raise Refusal(400, "domain must be the site registered for the hosted payment page")
    back = state.return_url
    if not back:  # as at Payfirma: the return URL is a PayHQ setting, never the request's
        raise Refusal(400, "No return URL is configured for the hosted payment page")
    session = HppSession(
        id=secrets.token_urlsafe(12),
        amount=body.amount + extra,
        currency=currency,
        return_url=back,
        state=body.state,
        custom_id=body.custom_id,
        name=" ".join(filter(None, (body.first_name, body.last_name))),
    )
    state.sessions[session.id] = session
    return ok({"url": f"{origin(state, request)}/hpp/{session.id}"})  # as the demo reads it


async def lookup(request: web.Request) -> web.Response:
    tx = request.app[SANDBOX].transactions.get(request.match_info["lookup_id"])
    if tx is None:
        raise Refusal(404, "Transaction not found", code=NOT_FOUND)
    return ok(tx.to_wire())


async def sale(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    body = await parsed(request, Sale)
    suffix = body.card_suffix()
    currency = checked(body.amount, body.currency)
    tx = billing.charge(
        state, body.amount, currency, body.custom_id, source="API", card_suffix=suffix
    )
    if tx.result == "DECLINED":
        return error(402, "DECLINED", tx.message, transaction=tx.to_wire().to_json())
    return ok(tx.to_wire())


def setup(app: web.Application) -> None:
    app.router.add_post(HPP_INIT, hpp_init)
    app.router.add_get(LOOKUP, lookup)
    app.router.add_post(SALE, sale)
