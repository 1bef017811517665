"""A return for a payment that had already ended (its watch given up on, or its invoice
settled through another payment), whose transaction lookup fails at the landing: the
money is approved at Payfirma, and the return is the one place that names it."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.models import PaymentState
from bot.pages import SETTLEMENT
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage
from tests.payfirma.test_payfirma_core import bot, copy_link

__all__ = ["bot"]

LOOKUP = "/transaction-service/transaction/lookup/"


async def rounds(bot: TestServer, count: int = 30) -> None:
    """Poller rounds and outbox sends, with every due check made due at once."""
    store = bot.app[SERVICES].store
    for _ in range(count):
        store.db.execute("UPDATE payments SET next_check_at = 0 WHERE next_check_at IS NOT NULL")
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


async def pay_after(bot: TestServer, sandbox: SandboxState, end: str) -> tuple[str, int]:
    """Open a customer's link, end the payment as `end` while its page stays open, then
    pay on the page while Payfirma's lookup fails; (payment id, transaction id)."""
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        payment = store.payment(started.payment.id)
        assert payment is not None and payment.state is PaymentState.OPENED
        if end == "expired":  # its watch given up on: the link's lifetime and a day passed
            bot.app[SETTLEMENT]._end(payment, PaymentState.EXPIRED, "never confirmed")
        else:  # Payfirma showed the invoice paid, not through this attempt (marked in PayHQ)
            bot.app[SETTLEMENT]._supersede([payment], payment, None)
        ended = store.payment(payment.id)
        assert ended is not None and ended.state.value == end
        sandbox.inject("error", count=3)  # Payfirma's lookup fails just then (3 tries)
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            assert landing.status == 200
            html = await landing.text()
    # Not known either way yet: never "no payment arrived" or "nothing was charged".
    assert "Payment not confirmed yet" in html and "has not confirmed the payment yet" in html, html
    assert "No payment arrived" not in html and "Nothing was charged" not in html
    sandbox.clear_faults()
    (tx,) = sandbox.transactions.values()
    assert tx.result == "APPROVED"
    return payment.id, tx.id


async def test_a_late_return_whose_lookup_failed_is_asked_about_again(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    payment_id, tx_id = await pay_after(bot, sandbox, "expired")
    await rounds(bot)
    paid = store.payment(payment_id)
    assert paid is not None
    assert paid.state is PaymentState.PAID, (paid.state, paid.provider_reference)
    assert paid.receipt == str(tx_id)
    assert any("Paid:" in post["text"] for post in slack.posted_to("C0BILLING"))


async def test_a_second_payment_whose_lookup_failed_is_still_told(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    payment_id, tx_id = await pay_after(bot, sandbox, "superseded")
    await rounds(bot)
    twice = store.payment(payment_id)
    assert twice is not None and twice.state is PaymentState.SUPERSEDED
    assert twice.paid_at is not None and twice.receipt == str(tx_id)
    assert any("paid twice" in post["text"] for post in slack.posted_to("C0BILLING"))
    assert store.kept_return(payment_id) is None


async def test_a_late_return_payfirma_never_answers_about_is_given_up_on(
    bot: TestServer, sandbox: SandboxState
) -> None:
    store = bot.app[SERVICES].store
    payment_id, _ = await pay_after(bot, sandbox, "expired")
    sandbox.inject("error", count=100_000)
    store.db.execute("UPDATE payments SET check_attempts = 299 WHERE id = ?", [payment_id])
    await rounds(bot, 3)
    ended = store.payment(payment_id)
    assert ended is not None and ended.state is PaymentState.EXPIRED
    assert ended.next_check_at is None and store.kept_return(payment_id) is None


async def test_a_late_return_cut_short_by_a_stop_is_asked_about_after_the_restart(
    bot: TestServer, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As by kill -9 while Payfirma is asked about a given-up payment's return: the return
    was kept before the ask, and the ended payment is due for a check with it."""
    store = bot.app[SERVICES].store
    settlement = bot.app[SETTLEMENT]
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        payment = store.payment(started.payment.id)
        assert payment is not None
        settlement._end(payment, PaymentState.EXPIRED, "never confirmed")
        data = {**page.fields, "action": "pay"}
        async with browser.post(
            urljoin(hpp, page.action), data=data, allow_redirects=False
        ) as paid:
            back = paid.headers["Location"]
    params = dict(URL(back).query)
    ended = store.payment(payment.id)
    assert ended is not None and ended.state is PaymentState.EXPIRED
    sandbox.inject("hang", count=5)
    kept, keep = asyncio.Event(), store.keep_return

    def keeping(payment_id: str, params: dict[str, str]) -> None:
        keep(payment_id, params)
        kept.set()

    monkeypatch.setattr(store, "keep_return", keeping)
    asking = asyncio.create_task(settlement.check(ended, params))
    await kept.wait()
    await asyncio.sleep(0.05)  # the keeping transaction has committed
    for flight in [*settlement._checks._running.values(), asking]:
        flight.cancel()  # the process is gone
    await asyncio.gather(asking, return_exceptions=True)
    sandbox.clear_faults()
    await rounds(bot)
    paid_now = store.payment(payment.id)
    assert paid_now is not None and paid_now.state is PaymentState.PAID
    assert store.kept_return(payment.id) is None
