"""An invoice cancelled in PayHQ while a customer's link for it is out.

Payfirma's hosted payment page takes an amount, not an invoice: a link made before the
invoice was cancelled would still charge the customer for it. The next check ends such
a link (its customer can no longer reach the page), and money a page that was already
open takes all the same is recorded, with the billing channel told the invoice is
cancelled, not asked to mark it paid.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import aiohttp
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage
from tests.payfirma.test_payfirma_core import bot, copy_link

__all__ = ["bot"]


def cancel_in_payhq(sandbox: SandboxState, invoice_id: int) -> None:
    item = sandbox.invoices[invoice_id]
    sandbox.invoices[invoice_id] = item.model_copy(update={"status": "CANCELLED"})


async def poll(bot: TestServer) -> None:
    store = bot.app[SERVICES].store
    for payment in store.payments_for_invoices("T0TEAM", "payfirma", ["212948"]):
        store.update_payment(payment.id, next_check_at=0)
    for _ in range(5):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


async def test_a_link_to_an_invoice_cancelled_since_no_longer_reaches_the_payment_page(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    started = await copy_link(bot, "U0PAYER")
    cancel_in_payhq(sandbox, 212948)
    await poll(bot)
    ended = bot.app[SERVICES].store.payment(started.payment.id)
    assert ended is not None and ended.state is PaymentState.FAILED, ended
    assert "cancelled" in (ended.last_error or "")
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(started.pay_url, allow_redirects=False) as page,
    ):
        assert page.status != 303, "the customer is not sent on to pay a cancelled invoice"
    assert sandbox.transactions == {}
    (told,) = slack.posted_to("C0BILLING")
    assert "212948" in str(told) and "cancelled" in str(told)


async def test_a_cancelled_invoice_paid_on_a_page_already_open_is_recorded_and_not_to_mark_paid(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    started = await copy_link(bot, "U0PAYER")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]  # the customer has the page open
        cancel_in_payhq(sandbox, 212948)
        await poll(bot)
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            html = await landing.text()
    assert "Thank you for your payment" in html
    await poll(bot)
    paid = bot.app[SERVICES].store.payment(started.payment.id)
    assert paid is not None and paid.state is PaymentState.PAID
    for _ in range(40):  # posts to one channel go out in order, spaced
        confirmed = [m for m in slack.posted_to("C0BILLING") if m["text"].startswith("Paid")]
        if confirmed:
            break
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.1)
    said = str(confirmed)
    assert "still lists the invoice as unpaid" not in said
    assert "cancelled" in said and "refund" in said
