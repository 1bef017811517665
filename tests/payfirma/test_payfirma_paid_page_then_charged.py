"""A customer who saw the 'paid' page (the invoice was marked paid in PayHQ) and then paid
by card on Payfirma's page still open: that card money is told, not hidden by the page."""

from __future__ import annotations

from urllib.parse import urljoin

import aiohttp
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import bot
from tests.payfirma.test_payfirma_marked_paid_then_charged import (
    open_then_marked_paid,
    settle_round,
)

__all__ = ["bot"]


async def test_a_card_charge_after_the_paid_page_was_shown_is_told(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        started, hpp, page = await open_then_marked_paid(bot, sandbox, browser)
        # The customer pressed Cancel on Payfirma's page: its return (with this link's
        # state) shows the invoice paid. Back on Payfirma's page, still open, ...
        token = started.pay_url.rstrip("/").rsplit("/", 1)[-1]
        cancel = bot.make_url("/landing/payfirma").with_query(state=token, result="CANCELED")
        async with browser.get(str(cancel)) as shown:
            assert shown.status == 200
            assert "payment" in (await shown.text()).lower()
        # ... they pay by card.
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            assert landing.status == 200
    (tx,) = sandbox.transactions.values()
    assert tx.result == "APPROVED"
    await settle_round(bot)
    after = store.payment(started.payment.id)
    assert after is not None and after.state is PaymentState.PAID
    assert after.receipt == str(tx.id), "the card's own charge went untold"
    for _ in range(30):  # one post a second to a channel
        if len(slack.posted_to("C0BILLING")) == 2:
            break
        await settle_round(bot)
    _, second = slack.posted_to("C0BILLING")
    assert "Maybe paid twice" in second["text"] and str(tx.id) in second["text"]
