"""A customer's page opened before the invoice's amount was lowered charges the old,
higher amount. The money is recorded as charged, and #billing is told the customer paid
more than the invoice asks now, to refund the difference: never silently."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage
from tests.payfirma.test_payfirma_core import bot, copy_link, reprice

__all__ = ["bot"]


async def test_a_charge_above_what_the_invoice_asks_now_says_to_refund_the_difference(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack, _ = fake_slack
    first = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(first.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]  # opened: the link stands
        reprice(sandbox, 212948, "20.00")  # a discount given in PayHQ
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            assert "Thank you for your payment" in await landing.text()
    for _ in range(30):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        if slack.posted_to("C0BILLING"):
            break
        await asyncio.sleep(0.1)
    paid = bot.app[SERVICES].store.payment(first.payment.id)
    assert paid is not None and paid.state is PaymentState.PAID
    (posted,) = slack.posted_to("C0BILLING")
    said = str(posted)
    assert "CA$57.75" in said
    assert "asks for CA$20.00 now" in said and "refund the CA$37.75 paid over" in said
    assert "mark it paid in PayHQ" not in said
    assert "asks for CA$20.00 now" in caplog.text
