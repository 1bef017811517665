"""A Payfirma return that anyone could have sent: it must not end a customer's payment."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import SERVICES
from tests.payfirma.test_payfirma_core import bot, copy_link

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
