"""The pages a payer's browser sees: `/pay/<token>` and `/landing/<provider>`.

The pay page turns a token into the provider's next step (a redirect, or a form the
browser must POST). The landing page never believes its query string: it asks the
provider how the payment went and shows that.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import hdrs, web

from bot.models import Captured, Emailed, FormPost, Money, Payment, PaymentState, Redirect
from bot.payments import Payments, TokenProblem, hash_token, still_unpaid
from bot.provider import ProviderError
from bot.settlement import Settlement
from bot.singleflight import SingleFlight
from bot.text import log_error, plain, say, shown

log = logging.getLogger(__name__)

OPEN_CHECK_SECONDS = 3.0
"""How long opening a customer's link waits for the provider's word on its invoice
(see `_still_payable`); past it the customer goes on, and the poller still guards."""


def escape(text: str) -> str:
    """Text for a person, HTML-escaped and without the characters that hide or reorder
    what they read (a right-to-left override can turn a reason or an amount around).
    What passes on to the provider (the form's fields) is escaped exactly instead."""
    return html.escape(shown(text))


PAYMENT_COOKIE = "invoicebot_payment"
PAYMENTS = web.AppKey("payments", Payments)
SETTLEMENT = web.AppKey("settlement", Settlement)
COOKIE_KEY = web.AppKey("cookie_key", bytes)
SLACK_INSTALL_PATH = "/slack/install"
SLACK_REDIRECT_PATH = "/slack/oauth_redirect"
INSTALL_PATHS = frozenset({SLACK_INSTALL_PATH, SLACK_REDIRECT_PATH})
"""Slack's addresses a person opens, in a browser, to install the bot; Slack's others
(`/slack/events`) are read by Slack, which wants their plain status."""
SECURE_COOKIES = web.AppKey("secure_cookies", bool)
BUSINESS = web.AppKey("business", str)
"""The team's business name as its customers know it ('' when not configured)."""


Key = tuple[str, ...]
"""What names a payment in a landing request: (provider, "token", hash) or (provider,
"payment", id); or, tagged "as sent", the request's own bytes."""


class PaidPages:
    """The landing page of paid payments, by what the browser showed to name its payment.

    Paid is final, so its page never changes: a storm of payers reloading the page (or
    landing twice) is answered from here without the database. Pages are kept encoded,
    by the payment the request named and, apart, by the request's bytes as sent
    (`as_sent`), so an exact repeat is answered without reading its cookie or query
    again. Each of the two keeps at most `size`; requests made up to flood the second
    cannot push a payment's page out of the first.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._by_payment: OrderedDict[Key, bytes] = OrderedDict()
        self._by_request: OrderedDict[Key, bytes] = OrderedDict()

    def get(self, key: Key) -> bytes | None:
        return self._get(self._by_payment, key)

    def keep(self, key: Key, body: bytes) -> None:
        self._keep(self._by_payment, key, body)

    def get_sent(self, sent: Key) -> bytes | None:
        return self._get(self._by_request, sent)

    def keep_sent(self, sent: Key, body: bytes) -> None:
        self._keep(self._by_request, sent, body)

    @staticmethod
    def _get(kept: OrderedDict[Key, bytes], key: Key) -> bytes | None:
        body = kept.get(key)
        if body is not None:
            kept.move_to_end(key)
        return body

    def _keep(self, kept: OrderedDict[Key, bytes], key: Key, body: bytes) -> None:
        kept[key] = body
        kept.move_to_end(key)
        while len(kept) > self.size:
            kept.popitem(last=False)


def as_sent(request: web.Request) -> Key:
    """A landing request's own bytes that say which payment it names (its provider, raw
    query and Cookie header): equal bytes name the same payment."""
    cookie = request.headers.get(hdrs.COOKIE, "")
    return ("as sent", request.match_info["provider"], request.rel_url.raw_query_string, cookie)


def _kept_page(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="text/html", charset="utf-8")


PAID_PAGES = web.AppKey("paid_pages", PaidPages)
Shown = tuple[int, str, bool]
"""A landing page as every browser asking at once gets it: status, HTML, and whether paid."""
LANDINGS = web.AppKey("landings", SingleFlight[Shown])

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#1d1c1d}h1{font-size:1.6rem}.ok{color:#007a5a}.bad{color:#e01e5a}"
    ".muted{color:#616061}button{font-size:1rem;padding:.5rem 1rem}"
)


def page(
    title: str, body: str, *, status: int = 200, tone: str = "", brand: str = "invoicebot"
) -> web.Response:
    """`brand` ends the window title: invoicebot for the team, the business for a customer."""
    suffix = f" · {escape(brand)}" if brand else ""
    html = (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}{suffix}</title><style>{_STYLE}</style>"
        f"<h1 class='{tone}'>{escape(title)}</h1>{body}</html>"
    )
    return web.Response(text=html, status=status, content_type="text/html")


def sign_payment_id(key: bytes, payment_id: str) -> str:
    mac = hmac.new(key, payment_id.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payment_id}.{mac}"


def verified_payment_id(key: bytes, cookie: str | None) -> str | None:
    if not cookie or "." not in cookie:
        return None
    payment_id = cookie.rsplit(".", 1)[0]
    return payment_id if hmac.compare_digest(sign_payment_id(key, payment_id), cookie) else None


COOKIE_PAYMENTS = 5
"""Payments a browser's cookie names, the latest first: a payer with two links open (two
invoices, two tabs) comes back from each, and the landing must tell which."""


def verified_payment_ids(key: bytes, cookie: str | None) -> list[str]:
    """The payment ids the cookie names, latest first, each with its own signature
    checked (one that fails is left out)."""
    named = (verified_payment_id(key, part) for part in (cookie or "").split("~")[:COOKIE_PAYMENTS])
    return [payment_id for payment_id in named if payment_id]


def cookie_naming(key: bytes, payment_id: str, cookie: str | None) -> str:
    """The cookie with `payment_id` first, then the others it named (at most
    `COOKIE_PAYMENTS` in all)."""
    earlier = [p for p in verified_payment_ids(key, cookie) if p != payment_id]
    ids = [payment_id, *earlier][:COOKIE_PAYMENTS]
    return "~".join(sign_payment_id(key, p) for p in ids)


def _customer(payment: Payment) -> bool:
    """A receivable's payer is the team's customer: they are not in Slack."""
    return payment.direction == "receivable"


def _brand(request: web.Request, payment: Payment) -> str:
    return request.app[BUSINESS] if _customer(payment) else "invoicebot"


def _summary(payment: Payment) -> str:
    numbers = ", ".join(payment.invoice_numbers)
    word = "invoice" if len(payment.invoice_numbers) == 1 else "invoices"
    netted = ""
    if payment.credits and payment.lines:
        gross = Money.total((line.amount for line in payment.lines), payment.amount.currency)
        taken = " ".join(f"− credit {c.number} {c.amount.format()}" for c in payment.credits)
        netted = f" ({gross.format()} {taken})"
    issuer = f" ({payment.issuer_name})" if payment.issuer_name else ""
    return (
        f"<p>{escape(payment.amount.format())}{escape(netted)} for {word} {escape(numbers)} "
        f"by {escape(payment.method_name + issuer)}.</p>"
    )


def _reference(payment: Payment) -> str:
    """What a payer quotes when asking about it: the provider's reference, else ours."""
    return payment.receipt or payment.provider_reference or payment.settlement_id or payment.id


def _next_step(request: web.Request, payment: Payment) -> str:
    if _customer(payment):
        sender = request.app[BUSINESS] or "the sender of the invoice"
        return f"<p>To pay the invoice, contact {escape(sender)} for a new payment link.</p>"
    return "<p>Start again in Slack: the payment's message there has a Try again button.</p>"


def _if_unpaid(request: web.Request, payment: Payment) -> str:
    if _customer(payment):
        sender = request.app[BUSINESS] or "the sender of the invoice"
        return f"If you did not pay, contact {escape(sender)} for a new payment link."
    return "If you did not pay, ask for a new link in Slack."


def _not_confirmed(payment: Payment) -> str:
    """A failure read from the invoice, which may be an earlier card's: still watched."""
    reason = escape(plain(payment.last_error or "")) or "no reason given"
    return (
        f"{_summary(payment)}<p>The invoice still shows unpaid, and its last payment error "
        f"says: {reason}. That may be from an earlier attempt, so this payment is still "
        "being checked and will be confirmed if it went through. Check your statement "
        "before you pay again.</p>"
    )


def _cancelled(payment: Payment) -> str:
    """Only a cancel the provider tied to this attempt says nothing was charged. One the
    payer's browser reported is watched for a while (the provider's page can take the
    money after its Cancel or Back button), and once the watch is over nothing is
    promised either way."""
    if payment.next_check_at is not None:
        return (
            "<p>The payment page was left without paying. If it was paid there after all, "
            "it is recorded as paid once the provider confirms it.</p>"
        )
    if payment.unconfirmed_end:
        return "<p>The payment page was left without paying.</p>"
    return "<p>Nothing was charged.</p>"


def _unconfirmed_failure(payment: Payment) -> str:
    """A failure read from the invoice whose watch is over: never confirmed either way."""
    reason = escape(plain(payment.last_error or "")) or "no reason given"
    return (
        f"{_summary(payment)}<p>The invoice showed unpaid, and its last payment error said: "
        f"{reason}. That may have been from an earlier attempt; this payment was never "
        "confirmed either way. Check your statement before you pay again.</p>"
    )


def _after_end(request: web.Request, payment: Payment) -> str:
    """What to do after an attempt that ended without money: start again, unless its
    invoices have since been paid through another payment."""
    store = request.app[SETTLEMENT].store
    if store.settlement_of(payment.team_id, payment.provider, list(payment.invoice_ids)):
        several = len(payment.invoice_ids) > 1
        return (
            f"<p>{'These invoices have' if several else 'The invoice has'} since been paid "
            "through another payment.</p>"
        )
    return _next_step(request, payment)


def _why(payment: Payment) -> str:
    reason = plain(payment.last_error or "").strip()
    return f"<p>{escape(reason)}</p>" if reason else ""


def _unusable(request: web.Request, problem: TokenProblem) -> web.Response:
    """A link of ours that cannot be used any more, worded for whoever holds it."""
    payment = problem.payment
    if payment is None:
        return page("This link cannot be used", f"<p>{escape(str(problem))}</p>", status=410)
    brand = _brand(request, payment)
    state = payment.state
    if state is PaymentState.FAILED and payment.next_check_at is not None:
        body = _not_confirmed(payment)
        return page("Payment not confirmed", body, status=410, tone="bad", brand=brand)
    if state is PaymentState.FAILED and payment.unconfirmed_end:
        body = _unconfirmed_failure(payment) + _after_end(request, payment)
        return page("Payment not confirmed", body, status=410, tone="bad", brand=brand)
    if state is PaymentState.FAILED:
        body = f"{_summary(payment)}{_why(payment)}{_after_end(request, payment)}"
        return page("This payment failed", body, status=410, tone="bad", brand=brand)
    if state is PaymentState.CANCELLED:
        body = f"{_summary(payment)}{_cancelled(payment)}{_after_end(request, payment)}"
        return page("This payment was cancelled", body, status=410, tone="bad", brand=brand)
    if state in (PaymentState.OPENED, PaymentState.LINK_ISSUED) and payment.could_have_taken_money:
        body = (
            f"{_summary(payment)}<p>This link has expired. If you already paid on the "
            "payment page, the payment is still being checked and will be confirmed: do not "
            f"pay again until it is. {_if_unpaid(request, payment)}</p>"
        )
        return page("This payment link has expired", body, status=410, brand=brand)
    if state is PaymentState.EXPIRED and (told := _paid_in_part(request, payment)):
        return page("Paid in part", _summary(payment) + told, status=410, tone="bad", brand=brand)
    if state in (PaymentState.EXPIRED, PaymentState.CREATED, PaymentState.LINK_ISSUED):
        body = f"{_summary(payment)}<p>This link has expired.</p>{_next_step(request, payment)}"
        return page("This payment link has expired", body, status=410, brand=brand)
    if state is PaymentState.UNKNOWN:
        body = (
            f"{_summary(payment)}<p>The provider has not said yet whether this payment went "
            "through. Do not pay again until it has.</p>"
        )
        return page("This payment is being checked", body, status=410, brand=brand)
    return page(
        "This link cannot be used", f"<p>{escape(str(problem))}</p>", status=410, brand=brand
    )


PREVIEWERS = (
    "Slackbot-LinkExpanding", "Slackbot 1.0", "SkypeUriPreview", "MicrosoftPreview",
    "Discordbot", "TelegramBot", "WhatsApp", "facebookexternalhit", "Twitterbot", "LinkedInBot",
)  # fmt: skip
"""User agents of chat apps that fetch a pasted link to show its preview."""


def _previewing(request: web.Request) -> bool:
    """A HEAD, or a chat app previewing the link where someone pasted it: not the payer
    opening it. Opening marks the link so that it can no longer be cancelled, and sends
    the browser on to the provider; a preview must do neither, nor show what it is for."""
    if request.method == "HEAD":
        return True
    agent = request.headers.get("User-Agent", "")
    return any(name in agent for name in PREVIEWERS)


async def _still_payable(request: web.Request, payment: Payment) -> Payment:
    """A customer's link, checked with the provider as the poller would before the
    customer is sent on: the hosted page takes an amount, not an invoice, so an invoice
    marked paid or cancelled there since would be paid again. Only an unopened link is
    asked about (it cannot have taken money, so the invoice's word only ends it); a
    reload finds it opened or ended and asks nothing. An answer too slow leaves the link
    as it was: the check goes on in the background, and the poller still guards."""
    try:
        return await asyncio.wait_for(
            request.app[SETTLEMENT].check(payment), timeout=OPEN_CHECK_SECONDS
        )
    except TimeoutError:
        log.info("payment %s: the provider did not answer in time; link opened", payment.id)
        return payment


def _needs_no_payment(request: web.Request, payment: Payment) -> web.Response | None:
    """The page for a link that the check as it was opened ended unopened: its invoice
    was paid (superseded) or the provider ended the link itself (a cancelled invoice)."""
    if payment.could_have_taken_money or payment.state not in (
        PaymentState.SUPERSEDED,
        PaymentState.FAILED,
    ):
        return None
    if payment.state is PaymentState.SUPERSEDED:
        if _partly_settled(request, payment):
            return None  # some of its invoices are still to pay: said by `_unusable`
        said = "<p>It has been paid, so there is nothing to pay through this link.</p>"
    else:
        said = f"{_why(payment)}<p>There is nothing to pay through this link.</p>"
    sender = request.app[BUSINESS] or "the sender of the invoice"
    return page(
        "This invoice needs no payment",
        f"{_summary(payment)}{said}<p>Nothing was charged. If you have a question about "
        f"the invoice, contact {escape(sender)}.</p>",
        brand=_brand(request, payment),
    )


async def pay(request: web.Request) -> web.StreamResponse:
    if _previewing(request):
        return page("Payment link", "<p>Open this link in a browser to see what it pays.</p>")
    payments = request.app[PAYMENTS]
    try:
        payment = payments.redeem(request.match_info["token"])
    except TokenProblem as problem:
        return _unusable(request, problem)
    if _customer(payment) and payment.state is PaymentState.LINK_ISSUED:
        payment = await _still_payable(request, payment)
        if (settled := _needs_no_payment(request, payment)) is not None:
            return settled
    opened = payments.force(
        payment.id,
        {PaymentState.LINK_ISSUED},
        PaymentState.OPENED,
        opened_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if not opened:  # cancelled, paid or ended since it was read: re-read, never pass it on
        try:
            payment = payments.redeem(request.match_info["token"])
        except TokenProblem as problem:
            return _unusable(request, problem)
    payments.store.audit(
        "payment.link_opened",
        team_id=payment.team_id,
        # A customer's link is opened by the customer, not by whoever copied it for them.
        user_id=None if payment.direction == "receivable" else payment.user_id,
        subject=payment.id,
    )
    start = payment.start
    response: web.StreamResponse
    if isinstance(start, Redirect):
        response = web.HTTPSeeOther(start.url)
    elif isinstance(start, FormPost):
        inputs = "".join(
            f"<input type=hidden name='{html.escape(name)}' value='{html.escape(value)}'>"
            for name, value in start.fields
        )
        response = page(
            "Taking you to the payment page…",
            f"{_summary(payment)}<form id=pay method=post action='{html.escape(start.url)}'>"
            f"{inputs}"
            "<noscript><button>Continue to payment</button></noscript></form>"
            "<script>document.getElementById('pay').submit()</script>",
        )
    elif isinstance(start, Captured):
        response = page("Already charged", _summary(payment), tone="ok")
    elif isinstance(start, Emailed):
        response = page("Sent by e-mail", f"<p>The invoice was e-mailed to {escape(start.to)}.</p>")
    else:
        return page("This link cannot be used", "<p>The payment did not start.</p>", status=410)
    response.set_cookie(
        PAYMENT_COOKIE,
        cookie_naming(request.app[COOKIE_KEY], payment.id, request.cookies.get(PAYMENT_COOKIE)),
        httponly=True,
        samesite="Lax",
        path="/",  # read where the next link opens too (`cookie_naming`), and on landing
        max_age=24 * 3600,
        secure=request.app[SECURE_COOKIES] or request.secure,
    )
    if isinstance(response, web.HTTPException):
        raise response  # aiohttp sends a redirect (with its cookie) when raised
    return response


def _landing_payment(request: web.Request) -> tuple[Payment, Key] | None:
    """Which payment the browser came back from (our token in `state`, or our cookie),
    and the key that named it."""
    provider = request.match_info["provider"]
    store = request.app[PAYMENTS].store
    token = request.query.get("state")
    if token:
        hashed = hash_token(token)
        found = store.payment_by_token(hashed)
        if found:
            return found[0], (provider, "token", hashed)
    ids = verified_payment_ids(request.app[COOKIE_KEY], request.cookies.get(PAYMENT_COOKIE))
    if len(ids) == 1:  # the usual browser: one link opened
        payment = store.payment(ids[0])
        return (payment, (provider, "payment", ids[0])) if payment else None
    # Several links opened in this browser: the latest one at this provider, unless the
    # return names another's transaction (i3D.net's `transactionId`).
    mine = [p for p in (store.payment(i) for i in ids) if p is not None and p.provider == provider]
    if not mine:
        return None
    given = set(request.query.values())
    payment = next((p for p in mine if p.provider_reference in given), mine[0])
    return payment, (provider, "payment", payment.id)


def _landing_key(request: web.Request) -> Key | None:
    """What names the payment in this request, read as `_landing_payment` first tries it,
    without the database: a `state` it does not know falls back to the cookie there, so a
    page is kept under a key only when that key is what named its payment."""
    provider = request.match_info["provider"]
    token = request.query.get("state")
    if token:
        return provider, "token", hash_token(token)
    ids = verified_payment_ids(request.app[COOKIE_KEY], request.cookies.get(PAYMENT_COOKIE))
    # With several, which one is named takes the database: only the exact request is kept.
    return (provider, "payment", ids[0]) if len(ids) == 1 else None


async def landing(request: web.Request) -> web.Response:
    """Browsers landing at once with the same request (a payer's reloads, a storm) share
    one reading of the payment and one page; a paid one's page is kept."""
    kept_pages = request.app[PAID_PAGES]
    sent = as_sent(request)
    if kept := kept_pages.get_sent(sent):
        return _kept_page(kept)
    key = _landing_key(request)
    if key is None:
        return (await _landing(request))[0]
    if kept := kept_pages.get(key):
        kept_pages.keep_sent(sent, kept)
        return _kept_page(kept)

    async def show() -> Shown:
        response, named = await _landing(request)
        if named is not None:  # paid
            body = (response.text or "").encode()
            kept_pages.keep_sent(sent, body)
            if named == key:
                kept_pages.keep(key, body)
        return response.status, response.text or "", named is not None

    status, html, _ = await request.app[LANDINGS].run(sent, show)
    return web.Response(text=html, status=status, content_type="text/html")


async def _landing(request: web.Request) -> tuple[web.Response, Key | None]:
    """The landing page and, when it shows a paid payment (a page that stays), the key
    that named the payment."""
    provider = request.match_info["provider"]
    found = _landing_payment(request)
    if found is None or found[0].provider != provider:
        return page(
            "We could not tell which payment this is",
            "<p>Nothing was changed. If you paid, the payment is still recorded as soon as "
            "the provider confirms it.</p>",
            status=400,
        ), None
    payment, named = found
    payment = await request.app[SETTLEMENT].check(payment, landing_params=dict(request.query))
    brand = _brand(request, payment)
    summary = _summary(payment)
    if payment.state is PaymentState.PAID:
        # Credited on the invoice's word: a later return from this page may still name a
        # card charge of its own (a second payment), so it is asked about, not kept.
        kept = named if request.app[SETTLEMENT].paid_page_final(payment) else None
        reference = f"<p>Receipt reference: <b>{escape(_reference(payment))}</b></p>"
        if _customer(payment):
            business = request.app[BUSINESS]
            said = (
                f"{escape(business)} has received your payment."
                if business
                else "Your payment has been received."
            )
            body = (
                f"<p>{said}</p>{summary}{reference}<p class=muted>Keep this for your records.</p>"
            )
            return page("Thank you for your payment", body, tone="ok", brand=brand), kept
        title = "Invoices paid" if len(payment.invoice_ids) > 1 else "Invoice paid"
        return page(title, summary + reference + "<p>Slack has been told.</p>", tone="ok"), kept
    # A return the provider could not be asked about yet leaves an ended attempt's fate
    # open: it is asked about again, and its page says only that it is not confirmed yet.
    if (ended := _ended_page(request, payment)) and not _asked_again(request, payment):
        return ended, None
    told = (
        f"{escape(request.app[BUSINESS] or 'The business')} is told as soon as it lands."
        if _customer(payment)
        else "invoicebot keeps checking and posts in Slack as soon as it lands."
    )
    return page(
        "Payment not confirmed yet",
        summary + f"<p class=muted>The provider has not confirmed the payment yet. {told}</p>",
        brand=brand,
    ), None


def _ended_page(request: web.Request, payment: Payment) -> web.Response | None:
    """The page for an attempt that ended without being paid through it; None while
    its outcome can still change."""
    brand = _brand(request, payment)
    summary = _summary(payment)
    if payment.state is PaymentState.FAILED and payment.next_check_at is not None:
        return page("Payment not confirmed", _not_confirmed(payment), tone="bad", brand=brand)
    if payment.state is PaymentState.FAILED and payment.unconfirmed_end:
        body = _unconfirmed_failure(payment) + _after_end(request, payment)
        return page("Payment not confirmed", body, tone="bad", brand=brand)
    if payment.state is PaymentState.FAILED:
        stated = "nothing was charged" in (payment.last_error or "").lower()  # a decline says it
        body = f"{summary}{_why(payment)}" + ("" if stated else "<p>Nothing was charged.</p>")
        return page("Payment failed", body + _after_end(request, payment), tone="bad", brand=brand)
    if payment.state is PaymentState.CANCELLED:
        body = f"{summary}{_cancelled(payment)}{_after_end(request, payment)}"
        return page("Payment cancelled", body, tone="bad", brand=brand)
    if payment.state is PaymentState.SUPERSEDED and payment.paid_at:
        who = (
            escape(request.app[BUSINESS] or "The business")
            if _customer(payment)
            else "The billing channel in Slack"
        )
        return page(
            "This invoice was already paid",
            summary + "<p>This payment went through, but the invoice had already been "
            f"recorded paid through another payment. {who} has been told, to check it and "
            "refund a second payment.</p>"
            f"<p>Reference: <b>{escape(_reference(payment))}</b></p>",
            tone="bad",
            brand=brand,
        )
    if payment.state is PaymentState.SUPERSEDED and (split := _partly_settled(request, payment)):
        paid, left = split
        return page(
            "This link can no longer be used",
            summary + f"<p>{escape(', '.join(paid))} "
            f"{'has' if len(paid) == 1 else 'have'} been paid through another payment, so "
            "this link can no longer be used. Nothing was charged through it.</p>"
            f"<p>{escape(', '.join(left))} {'is' if len(left) == 1 else 'are'} still unpaid "
            "and needs a new payment.</p>",
            brand=brand,
        )
    if payment.state is PaymentState.SUPERSEDED:
        return page(
            "Paid through another payment",
            summary + "<p>This invoice has been paid through another payment, so "
            "this one is no longer needed. Nothing was charged through it.</p>",
            brand=brand,
        )
    if payment.state is PaymentState.EXPIRED and (told := _paid_in_part(request, payment)):
        return page("Paid in part", summary + told, tone="bad", brand=brand)
    if payment.state is PaymentState.EXPIRED:
        return page(
            "This payment has ended",
            summary + "<p>No payment arrived through this link.</p>" + _next_step(request, payment),
            brand=brand,
        )
    return None


def _partly_settled(request: web.Request, payment: Payment) -> tuple[list[str], list[str]] | None:
    """(numbers paid, numbers left) when only some of this attempt's invoices are settled
    (see `still_unpaid`)."""
    store = request.app[PAYMENTS].store
    settled = [
        key
        for key in payment.invoice_ids
        if store.settlement_of(payment.team_id, payment.provider, [key])
    ]
    return still_unpaid(payment, settled)


def _paid_in_part(request: web.Request, payment: Payment) -> str | None:
    """What to say of a page that may have taken money and ended with only some of its
    invoices paid (its watch ended with the provider listing only those paid, see
    `Settlement._end_in_part`): which are paid, and that the rest were never confirmed
    (no "no payment arrived", no "Try again", as the payer's message has none)."""
    if not payment.could_have_taken_money or not (split := _partly_settled(request, payment)):
        return None
    paid, left = split
    return (
        f"<p>{escape(', '.join(paid))} {'has' if len(paid) == 1 else 'have'} been paid.</p>"
        f"<p>The payment of {escape(', '.join(left))} was never confirmed: check "
        f"{'it' if len(left) == 1 else 'them'} at the provider before paying again.</p>"
    )


def _asked_again(request: web.Request, payment: Payment) -> bool:
    """Whether this ended attempt's return is kept to be asked about again (see
    `Settlement._ask_again_later`)."""
    store = request.app[PAYMENTS].store
    return payment.next_check_at is not None and store.kept_return(payment.id) is not None


@web.middleware
async def plain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The pages' error boundary: a payer reads one plain sentence, the log gets the rest."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as refused:
        installing = request.path in INSTALL_PATHS
        if request.path.startswith("/slack/") and not installing:
            raise  # Slack's own addresses: a machine reads the answer
        if installing and isinstance(refused, web.HTTPMethodNotAllowed):
            said = page(
                "Open this address in a web browser",
                "<p>This is where invoicebot is installed from, by following its link in a "
                "web browser. This request came another way (a form or a tool), so it was "
                "not read. Nothing was installed or changed.</p>",
                status=refused.status,
            )
        else:
            said = page(
                "This address does not lead anywhere",
                "<p>If it came as a payment link, it may have been cut short on the way: open "
                "the whole link from the message, or ask whoever sent it for a new one.</p>",
                status=refused.status,
            )
        if "Allow" in refused.headers:
            said.headers["Allow"] = refused.headers["Allow"]
        return said
    except web.HTTPException:
        raise
    except Exception as error:
        log_error(error, f"page {request.path.split('/')[1] or '/'}")
        if isinstance(error, ProviderError):
            return page("Please try again in a minute", f"<p>{escape(say(error))}</p>", status=503)
        if request.path.startswith("/landing/"):
            # The payer may just have paid on the provider's page: what failed is only
            # invoicebot's record of it, which the poller makes once it can.
            return page(
                "Payment not confirmed yet",
                "<p>Something went wrong while invoicebot checked this payment; the details "
                "are in its log. If you paid, do not pay again: the payment is recorded as "
                "soon as the provider confirms it. Reload this page in a minute to see where "
                "it stands.</p>",
                status=500,
            )
        return page(
            "Something went wrong",
            "<p>invoicebot could not show this page; the details are in its log. Nothing was "
            "paid through this page. Try again in a minute, or ask the sender for a new link.</p>",
            status=500,
        )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/pay/{token}", pay)
    app.router.add_get("/landing/{provider}", landing)
