"""Payfirma's transaction lookup may lag behind the payer's return: a lookup that answers
404 just after the browser came back must not lose the one place Payfirma names the
transaction, nor stand for "no such payment"."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, PaymentState
from bot.pages import SETTLEMENT
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage, check_for, pay_on_page
from tests.payfirma.test_payfirma_core import bot, copy_link
from tests.payfirma.test_payfirma_payment import start

__all__ = ["bot"]

LOOKUP = "/transaction-service/transaction/lookup/"


async def rounds(bot: TestServer, count: int = 10) -> None:
    store = bot.app[SERVICES].store
    for _ in range(count):
        store.db.execute("UPDATE payments SET next_check_at = 0 WHERE next_check_at IS NOT NULL")
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


async def test_a_return_whose_transaction_is_not_found_yet_is_looked_up_again(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(
            urljoin(hpp, page.action), data=data, allow_redirects=False
        ) as paid:
            back = paid.headers["Location"]
        (tx,) = sandbox.transactions.values()
        lagging = sandbox.transactions.pop(tx.lookup_id)  # not in Payfirma's lookup yet
        async with browser.get(back) as landing:
            html = await landing.text()
    assert "Thank you for your payment" not in html
    assert "Payment failed" not in html and "Nothing was charged" not in html
    waiting = store.payment(started.payment.id)
    assert waiting is not None and waiting.state is not PaymentState.PAID
    assert waiting.provider_reference == tx.lookup_id  # kept from the return
    sandbox.transactions[tx.lookup_id] = lagging  # Payfirma's lookup catches up
    await rounds(bot)
    done = store.payment(started.payment.id)
    assert done is not None and done.state is PaymentState.PAID
    assert done.receipt == str(tx.id)
    assert sandbox.invoices[212948].status == "UNPAID"  # known from the transaction alone
    (posted,) = [m for m in slack.posted_to("C0BILLING") if "CA$57.75" in str(m)]
    assert "mark it paid in PayHQ" in str(posted)


@pytest.mark.parametrize("fault", ["bad_request", "forbidden", "wordless", "error"])
async def test_a_lookup_payfirma_refuses_leaves_the_word_to_the_invoice(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession, fault: str
) -> None:
    """A lookup refused (400, 403, 422) or failing is not an answer about the payment:
    the invoice listed PAID is Payfirma's own word, as it is for the poller."""
    sandbox.card_payments_mark_paid = True
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    assert sandbox.invoices[212948].status == "PAID"
    sandbox.inject(fault, count=5, path=LOOKUP + back["lookup_id"])
    said = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert said.status is OutcomeStatus.PAID and not said.attributed
    assert said.message == "Payfirma shows invoice 212948 as paid."
    assert said.note is not None and "paid once" in said.note
    assert said.provider_reference == back["lookup_id"]


@pytest.mark.parametrize("fault", ["bad_request", "forbidden", "wordless", "error"])
async def test_a_lookup_payfirma_refuses_while_the_invoice_is_unpaid_is_unknown(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession, fault: str
) -> None:
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.inject(fault, count=5, path=LOOKUP + back["lookup_id"])
    said = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert said.status is OutcomeStatus.UNKNOWN
    assert said.provider_reference == back["lookup_id"]  # looked up again later


async def test_a_late_return_whose_transaction_is_not_found_yet_is_asked_about_again(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A return to an attempt whose watch was given up on: only its return still asks."""
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        payment = store.payment(started.payment.id)
        assert payment is not None
        bot.app[SETTLEMENT]._end(payment, PaymentState.EXPIRED, "never confirmed")
        data = {**page.fields, "action": "pay"}
        async with browser.post(
            urljoin(hpp, page.action), data=data, allow_redirects=False
        ) as paid:
            back = paid.headers["Location"]
        (tx,) = sandbox.transactions.values()
        lagging = sandbox.transactions.pop(tx.lookup_id)
        async with browser.get(back) as landing:
            html = await landing.text()
    assert "Payment not confirmed yet" in html and "No payment arrived" not in html
    sandbox.transactions[tx.lookup_id] = lagging
    await rounds(bot, 30)
    done = store.payment(payment.id)
    assert done is not None and done.state is PaymentState.PAID
    assert done.receipt == str(tx.id)
    assert any("Paid:" in post["text"] for post in slack.posted_to("C0BILLING"))
