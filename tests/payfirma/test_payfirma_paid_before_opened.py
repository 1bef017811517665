"""A customer opening a link for an invoice marked paid, or cancelled, in PayHQ since.

Payfirma's payment page takes an amount, not an invoice: sent on, the customer could pay
the invoice again until the poller's next check. Opening the link asks Payfirma first,
through the same check the poller makes, and says there is nothing to pay.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot import pages
from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import TEAM, bot, copy_link

__all__ = ["bot"]


def mark(sandbox: SandboxState, status: str) -> None:
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": status})


async def open_link(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(url, allow_redirects=False) as answer,
    ):
        return answer.status, await answer.text()


async def settle_round(bot: TestServer) -> None:
    store = bot.app[SERVICES].store
    for payment in store.payments_for_invoices(TEAM, "payfirma", ["212948"]):
        store.update_payment(payment.id, next_check_at=0)
    for _ in range(5):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("settings", [{"business_name": "Acme <Hosting>"}], indirect=True)
async def test_a_link_to_an_invoice_marked_paid_since_says_it_needs_no_payment(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    mark(sandbox, "PAID")  # a cheque came in; marked paid in PayHQ
    status, html = await open_link(started.pay_url)
    assert status == 200, html
    assert "This invoice needs no payment" in html and "has been paid" in html
    assert "contact Acme &lt;Hosting&gt;" in html and "<Hosting>" not in html
    ended = store.payment(started.payment.id)
    assert ended is not None and ended.state is PaymentState.SUPERSEDED
    assert ended.opened_at is None and ended.paid_at is None
    # Nothing recorded paid through invoicebot: Payfirma tied no money to it.
    assert store.settlement_of(TEAM, "payfirma", ["212948"]) is None
    # A reload asks Payfirma nothing more and still does not send the customer on.
    reads = len(sandbox.requests)
    status, html = await open_link(started.pay_url)
    assert status != 303 and "paid" in html
    assert len(sandbox.requests) == reads
    await settle_round(bot)
    assert sandbox.transactions == {}
    assert slack.posted_to("C0BILLING") == []


async def test_a_link_to_an_invoice_cancelled_since_says_it_needs_no_payment(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    mark(sandbox, "CANCELLED")
    status, html = await open_link(started.pay_url)
    assert status == 200, html
    assert "This invoice needs no payment" in html and "cancelled" in html
    ended = store.payment(started.payment.id)
    assert ended is not None and ended.state is PaymentState.FAILED
    assert ended.opened_at is None
    # #billing hears of it once, as from the poller, however often it checks later.
    await settle_round(bot)
    await settle_round(bot)
    (told,) = slack.posted_to("C0BILLING")
    assert "212948" in str(told) and "cancelled" in str(told)
    assert sandbox.transactions == {}


async def test_a_link_whose_provider_is_slow_still_opens_and_the_poller_guards(
    bot: TestServer,
    sandbox: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(pages, "OPEN_CHECK_SECONDS", 0.2)
    started = await copy_link(bot, "U0PAYER")
    sandbox.latency = 1.0
    with caplog.at_level(logging.INFO, logger="bot.pages"):
        status, _ = await open_link(started.pay_url)
    assert status == 303  # as before: sent on to Payfirma's page
    assert any(r.levelno == logging.INFO and "in time" in r.getMessage() for r in caplog.records)
    opened = bot.app[SERVICES].store.payment(started.payment.id)
    assert opened is not None and opened.state is PaymentState.OPENED
    await asyncio.sleep(1.5)  # the check, gone on in the background, ends quietly


async def test_an_open_invoice_link_is_sent_on_after_one_read(
    bot: TestServer, sandbox: SandboxState
) -> None:
    started = await copy_link(bot, "U0PAYER")
    reads = len(sandbox.requests)
    status, _ = await open_link(started.pay_url)
    assert status == 303
    asked = len(sandbox.requests) - reads
    assert 1 <= asked <= 2  # the invoice (and a sign-in at most); nothing written
    assert sandbox.transactions == {}
    status, _ = await open_link(started.pay_url)  # a reload: opened, so asked nothing
    assert status == 303 and len(sandbox.requests) - reads == asked
