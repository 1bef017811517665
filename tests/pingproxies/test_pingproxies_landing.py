"""The browser's return from PingProxies' payment page, through invoicebot's landing.

The landing knows the payment by a cookie naming the last pay link that browser opened;
the return itself names its invoice and checkout, and a return that is another
payment's never changes this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import Started
from bot.models import OutcomeStatus, PaymentState
from bot.web import SERVICES
from plugins.pingproxies import PingProxiesProvider
from plugins.pingproxies.sandbox import SandboxState
from tests.pingproxies.conftest import TEAM, PageForm, check_for, request_for

X, Y = "inv_sbx0087", "inv_sbx0102"


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """One browser: cookies kept (for 127.0.0.1 too), redirects followed by hand."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def link(bot: TestServer, invoice_id: str, method: str) -> Started:
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", [invoice_id])
    return await svc.checkout.start(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="pingproxies",
        invoice_ids=[invoice_id],
        method_id=method,
        issuer_id=None,
        expected=options.total,
    )


async def open_link(browser: aiohttp.ClientSession, bot: TestServer, started: Started) -> str:
    """Open the pay link; returns the payment page it sends the browser to."""
    async with browser.get(bot.make_url(f"/pay/{started.token}"), allow_redirects=False) as answer:
        assert answer.status == 303
        return answer.headers["Location"]


async def press(browser: aiohttp.ClientSession, page_url: str, button: str) -> str:
    """Press `button` on the payment page; returns the landing URL it sends the browser to."""
    async with browser.get(page_url) as page:
        form = PageForm(await page.text())
    target = urljoin(page_url, form.action)
    async with browser.post(target, data={"action": button}, allow_redirects=False) as answer:
        assert answer.status == 303
        return answer.headers["Location"]


async def land(browser: aiohttp.ClientSession, url: str) -> str:
    async with browser.get(url) as page:
        return await page.text()


def state_of(bot: TestServer, started: Started) -> PaymentState:
    payment = bot.app[SERVICES].store.payment(started.payment.id)
    assert payment is not None
    return payment.state


async def test_cancelling_an_older_tab_leaves_the_newer_payment_alone(
    bot: TestServer, sandbox: SandboxState, browser: aiohttp.ClientSession
) -> None:
    sandbox.return_url = str(bot.make_url("/landing/pingproxies"))
    x, y = await link(bot, X, "bitpay"), await link(bot, Y, "stripe")
    x_page = await open_link(browser, bot, x)
    y_page = await open_link(browser, bot, y)  # the cookie names Y's payment, then X's

    html = await land(browser, await press(browser, x_page, "cancel"))
    assert "Payment cancelled" in html and "PING-0087" in html, html  # X's, not Y's
    assert state_of(bot, x) is PaymentState.CANCELLED  # its return names its checkout
    assert state_of(bot, y) is PaymentState.OPENED
    assert sandbox.invoices[Y].invoice_status == "open"

    html = await land(browser, await press(browser, y_page, "pay"))
    assert "Invoice paid" in html
    assert state_of(bot, y) is PaymentState.PAID


async def test_cancelling_the_tab_the_cookie_names_cancels_its_payment(
    bot: TestServer, sandbox: SandboxState, browser: aiohttp.ClientSession
) -> None:
    sandbox.return_url = str(bot.make_url("/landing/pingproxies"))
    y = await link(bot, Y, "stripe")
    html = await land(browser, await press(browser, await open_link(browser, bot, y), "cancel"))
    assert "Payment cancelled" in html
    assert state_of(bot, y) is PaymentState.CANCELLED


@pytest.mark.parametrize(
    "landing",
    [
        {"invoice_id": X, "status": "cancelled"},
        {"invoice_id": Y, "checkout_id": "cs_other", "status": "cancelled"},
    ],
)
async def test_a_return_naming_another_invoice_or_checkout_is_not_believed(
    provider: PingProxiesProvider, landing: dict[str, str]
) -> None:
    options = await provider.payment_options([Y])
    started = await provider.start_payment(request_for(Y, options.total, "stripe"))
    check = check_for(Y, options.total, started.provider_reference, landing)
    outcome = await provider.check_payment(check)
    assert outcome.status is OutcomeStatus.PENDING
    assert outcome.message.startswith("The payment page returned news of another payment.")
    mine = landing | {"invoice_id": Y, "checkout_id": started.provider_reference or ""}
    ours = await provider.check_payment(check.model_copy(update={"landing_params": mine}))
    assert ours.status is OutcomeStatus.CANCELLED


async def test_another_payments_return_never_ties_the_invoices_last_error_to_this_page(
    provider: PingProxiesProvider, sandbox: SandboxState
) -> None:
    """The core takes a failure read as a browser comes back as that page's own: on
    another payment's return, the invoice's last error (maybe another card's) waits."""
    options = await provider.payment_options([Y])
    started = await provider.start_payment(request_for(Y, options.total, "stripe"))
    sandbox.invoices[Y] = sandbox.invoices[Y].model_copy(
        update={"invoice_last_payment_error": "Your card was declined."}
    )
    elsewhere = {"invoice_id": Y, "checkout_id": "chk_another", "status": "failed"}
    check = check_for(Y, options.total, started.provider_reference, elsewhere)
    assert (await provider.check_payment(check)).status is OutcomeStatus.PENDING
    own = elsewhere | {"checkout_id": started.provider_reference or ""}
    mine = await provider.check_payment(check.model_copy(update={"landing_params": own}))
    assert mine.status is OutcomeStatus.FAILED


@pytest.mark.parametrize("said", ["failed", "cancelled"])
async def test_an_end_another_site_reports_leaves_the_open_page_to_be_paid(
    bot: TestServer, sandbox: SandboxState, browser: aiohttp.ClientSession, said: str
) -> None:
    """Any site can send the payer's browser to the return saying "failed" or
    "cancelled" (the cookie goes along): not naming this attempt's checkout, it ends
    nothing, claims nothing and frees no invoice for a second link, and the page still
    open in another tab takes the money, which is then confirmed."""
    sandbox.return_url = str(bot.make_url("/landing/pingproxies"))
    y = await link(bot, Y, "stripe")
    page_url = await open_link(browser, bot, y)
    for forged in (f"?status={said}", f"?status={said}&invoice_id={Y}"):
        html = await land(browser, str(bot.make_url("/landing/pingproxies" + forged)))
        assert "Nothing was charged" not in html and said not in html.lower()
        assert state_of(bot, y) is PaymentState.OPENED
    again = await link(bot, Y, "stripe")  # the payer's own live link, shown again
    assert again.reused and again.payment.id == y.payment.id
    html = await land(browser, await press(browser, page_url, "pay"))
    assert state_of(bot, y) is PaymentState.PAID, html


@pytest.mark.parametrize("said", ["failed", "cancelled"])
async def test_a_return_naming_its_own_checkout_is_still_only_the_browsers_word(
    bot: TestServer, sandbox: SandboxState, browser: aiohttp.ClientSession, said: str
) -> None:
    """The return's parameters are not documented and anyone holding the page's address
    can type them: one naming this payment's checkout and saying it failed or was
    cancelled ends nothing for good, and the page that then takes the money is confirmed."""
    sandbox.return_url = str(bot.make_url("/landing/pingproxies"))
    y = await link(bot, Y, "bitpay")
    page_url = await open_link(browser, bot, y)
    checkout = page_url.rstrip("/").rsplit("/", 1)[1]
    assert checkout == y.payment.provider_reference
    told = f"?status={said}&invoice_id={Y}&checkout_id={checkout}"
    html = await land(browser, str(bot.make_url("/landing/pingproxies" + told)))
    assert "Nothing was charged" not in html
    html = await land(browser, await press(browser, page_url, "pay"))
    assert sandbox.invoices[Y].invoice_status == "paid"
    assert state_of(bot, y) is PaymentState.PAID, html
    assert "Invoice paid" in html
