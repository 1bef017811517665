"""Payfirma returns that anyone could have sent: they must not end or fail a customer's payment."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, PaymentCheck, PaymentState
from bot.web import SERVICES
from plugins.payfirma import PayfirmaProvider
from tests.payfirma.conftest import pay_on_page, pay_request
from tests.payfirma.test_payfirma_core import TEAM, bot, copy_link
from tests.payfirma.test_payfirma_payment import start

__all__ = ["bot"]


async def test_a_cancel_without_the_links_state_does_not_end_the_payment(
    bot: TestServer,
) -> None:
    """The customer opened the link (the browser keeps our cookie) and is on Payfirma's
    page; another site sends that browser to our return saying CANCELED, without the
    `state` only Payfirma's page knows. Payfirma's page can still take the money, and the
    link must still work: the return is not this payment's own word."""
    started = await copy_link(bot, "U0PAYER")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
        forged = str(bot.make_url("/landing/payfirma?result=CANCELED"))
        async with browser.get(forged) as answer:
            shown = await answer.text()
        payment = bot.app[SERVICES].store.payment(started.payment.id)
        assert payment is not None
        assert payment.state is PaymentState.OPENED, (payment.state, shown)
        async with browser.get(started.pay_url, allow_redirects=False) as again:
            assert again.status == 303, "the customer's link still leads to Payfirma's page"


async def test_after_a_restart_only_the_links_own_state_cancels(bot: TestServer) -> None:
    """The process that sent the `state` is gone (a restart): the core still knows the
    link token's hash, so a cross-site CANCELED leaves the payment watched and the
    return Payfirma's page makes, with the link's own `state`, still cancels it."""
    started = await copy_link(bot, "U0PAYER")
    services = bot.app[SERVICES]
    provider = services.connections.get(TEAM, "payfirma")
    assert isinstance(provider, PayfirmaProvider)
    provider._states.clear()  # what a new process remembers
    token = started.pay_url.rsplit("/", 1)[1]
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
        landing = "/landing/payfirma?result=CANCELED"
        async with browser.get(str(bot.make_url(landing))) as answer:
            await answer.read()
        payment = services.store.payment(started.payment.id)
        assert payment is not None and payment.state is PaymentState.OPENED
        async with browser.get(str(bot.make_url(f"{landing}&state={token}"))) as answer:
            await answer.read()
    payment = services.store.payment(started.payment.id)
    assert payment is not None and payment.state is PaymentState.CANCELLED


async def test_an_old_declined_lookup_without_state_does_not_fail_a_new_payment(
    provider: PayfirmaProvider, http: aiohttp.ClientSession
) -> None:
    """A return naming an earlier page's declined transaction (same invoice, same
    amount) but no `state` is not Payfirma's return for this payment: Payfirma sends back
    the `state` it was given. Taken as this payment's, it fails a page that is still
    open and, kept as its reference, makes every later check read that old decline."""
    first = await start(provider, "212947")  # $102.50: declined on the page
    back = await pay_on_page(http, first)
    assert back["result"] == "failure" and back["state"] == "link-token-0f3a"
    second = pay_request("212947", Money.of("102.50", "CAD"), reference="pay_2", token="tok-2")
    await provider.start_payment(second)
    forged = PaymentCheck(
        invoice_ids=("212947",),
        amount=Money.of("102.50", "CAD"),
        reference="pay_2",
        landing_params={"result": "failure", "lookup_id": back["lookup_id"]},
    )
    outcome = await provider.check_payment(forged)
    assert outcome.status is OutcomeStatus.PENDING, outcome
    assert outcome.provider_reference is None
