"""An invoice marked paid in PayHQ while its customer's page is open, then paid by card
on that page: the card money is a second payment and must be told, not dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urljoin

import aiohttp
from aiohttp.test_utils import TestServer

from bot.checkout import Started
from bot.models import OutcomeStatus, PaymentOutcome, PaymentState
from bot.pages import SETTLEMENT
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage
from tests.payfirma.test_payfirma_core import bot, copy_link

__all__ = ["bot"]


async def settle_round(bot: TestServer) -> None:
    """A few poller rounds and outbox sends."""
    for _ in range(10):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


async def open_then_marked_paid(
    bot: TestServer, sandbox: SandboxState, browser: aiohttp.ClientSession
) -> tuple[Started, str, CardPage]:
    """A customer's link opened at Payfirma's card page (its URL and form), then the invoice
    marked paid in PayHQ a minute ago (a cheque came in) and credited to the link."""
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with browser.get(started.pay_url, allow_redirects=False) as answer:
        assert answer.status == 303
        hpp = answer.headers["Location"]
    async with browser.get(hpp) as answer:
        page = CardPage(await answer.text())
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})
    store.update_payment(started.payment.id, next_check_at=0)
    await settle_round(bot)
    credited = store.payment(started.payment.id)
    assert credited is not None and credited.state is PaymentState.PAID
    assert credited.paid_at is not None
    marked = credited.paid_at - timedelta(minutes=1)
    store.update_payment(credited.id, paid_at=marked.isoformat(timespec="seconds"))
    return started, hpp, page


async def test_a_card_charge_after_the_invoice_was_marked_paid_is_told(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        started, hpp, page = await open_then_marked_paid(bot, sandbox, browser)
        assert len(slack.posted_to("C0BILLING")) == 1
        # The customer, still on Payfirma's page, pays by card.
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            html = await landing.text()
            landing_url = str(landing.url)
    (tx,) = sandbox.transactions.values()
    assert tx.result == "APPROVED"  # the card was charged CA$57.75
    await settle_round(bot)
    after = store.payment(started.payment.id)
    assert after is not None and after.state is PaymentState.PAID
    # The card's own transaction is kept, and #billing hears it as something to check.
    assert after.receipt == str(tx.id)
    assert f"Receipt reference: <b>{tx.id}</b>" in html
    for _ in range(30):  # one post a second to a channel
        if len(slack.posted_to("C0BILLING")) == 2:
            break
        await settle_round(bot)
    _, second = slack.posted_to("C0BILLING")
    assert "Maybe paid twice" in second["text"] and str(tx.id) in second["text"]
    # Told once: the return again (a reload) adds nothing.
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as browser,
        browser.get(landing_url) as again,
    ):
        assert again.status == 200
    await settle_round(bot)
    assert len(slack.posted_to("C0BILLING")) == 2


async def test_its_own_charge_seen_first_on_the_invoice_is_adopted_without_a_notice(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """Where Payfirma marks the invoice paid from the card itself, the poller may settle on
    the invoice's word a moment before the return is looked up: the same money, no alarm."""
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
        browser.get(started.pay_url, allow_redirects=False) as answer,
    ):
        assert answer.status == 303
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})
    store.update_payment(started.payment.id, next_check_at=0)
    await settle_round(bot)
    credited = store.payment(started.payment.id)
    assert credited is not None and credited.paid_at is not None
    bot.app[SETTLEMENT].apply(
        credited,
        PaymentOutcome(
            status=OutcomeStatus.PAID,
            message="approved",
            reference="880077",
            attributed=True,
            paid_at=credited.paid_at - timedelta(seconds=1),
        ),
        landed=True,
    )
    after = store.payment(started.payment.id)
    assert after is not None and after.receipt == "880077"
    for _ in range(3):
        await settle_round(bot)
    assert len(slack.posted_to("C0BILLING")) == 1
