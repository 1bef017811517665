"""A transaction lookup that does not answer for the payment: not found (Payfirma's lookup
may lag behind the payer's return), refused (400, 403, 422) or failing. It must not lose
the one place Payfirma names the transaction, nor stand for "no such payment"; the
invoice's own PAID still counts where the return is not what is being asked about."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, PaymentState
from bot.pages import SETTLEMENT
from bot.web import SERVICES
from plugins.payfirma import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CardPage, check_for, pay_on_page
from tests.payfirma.test_payfirma_core import bot, copy_link
from tests.payfirma.test_payfirma_late_return_lookup_fails import LOOKUP, rounds
from tests.payfirma.test_payfirma_payment import start

__all__ = ["bot"]


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
    """A kept transaction whose lookup is refused (400, 403, 422) or failing, asked about
    by the poller: the invoice listed PAID is Payfirma's own word, as it is without one."""
    sandbox.card_payments_mark_paid = True
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    assert sandbox.invoices[212948].status == "PAID"
    sandbox.inject(fault, count=5, path=LOOKUP + back["lookup_id"])
    kept = check_for("212948", Money.of("57.75", "CAD")).model_copy(
        update={"provider_reference": back["lookup_id"]}
    )
    said = await provider.check_payment(kept)
    assert said.status is OutcomeStatus.PAID and not said.attributed
    assert said.message == "Payfirma shows invoice 212948 as paid."
    assert said.note is not None and "paid once" in said.note


@pytest.mark.parametrize("paid", [False, True])
@pytest.mark.parametrize("fault", ["bad_request", "forbidden", "wordless", "error"])
async def test_a_return_whose_lookup_payfirma_refuses_is_unknown_and_kept(
    provider: PayfirmaProvider,
    sandbox: SandboxState,
    http: aiohttp.ClientSession,
    fault: str,
    paid: bool,
) -> None:
    """With the return itself, even an invoice listed PAID does not answer for the card
    it names (it may be a second payment): the return is kept and asked about again."""
    sandbox.card_payments_mark_paid = paid
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.inject(fault, count=5, path=LOOKUP + back["lookup_id"])
    said = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert said.status is OutcomeStatus.UNKNOWN
    assert said.provider_reference == back["lookup_id"]  # looked up again later


@pytest.mark.parametrize("fault", ["bad_request", "forbidden", "wordless"])
async def test_a_payment_whose_lookup_payfirma_refuses_is_paid_on_the_invoices_word(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    fault: str,
) -> None:
    """Through the core: the return's lookup refused, then the poller's too, while
    Payfirma lists the invoice paid: confirmed once, #billing asked to check it."""
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    sandbox.card_payments_mark_paid = True
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(
            urljoin(hpp, page.action), data=data, allow_redirects=False
        ) as card:
            back = card.headers["Location"]
        (tx,) = sandbox.transactions.values()
        sandbox.inject(fault, count=100, path=LOOKUP + tx.lookup_id)
        async with browser.get(back) as landing:
            assert "Payment not confirmed yet" in await landing.text()
    await rounds(bot)
    paid = store.payment(started.payment.id)
    assert paid is not None and paid.state is PaymentState.PAID
    assert paid.provider_reference == tx.lookup_id
    (posted,) = [m for m in slack.posted_to("C0BILLING") if "CA$57.75" in str(m)]
    assert "paid once" in str(posted)


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


async def land_after(bot: TestServer, sandbox: SandboxState, end: str, fault: str | None) -> str:
    """Open a customer's link; mark the invoice paid in PayHQ and end the attempt as `end`
    while its page stays open; pay on the page, and come back while Payfirma's lookup
    has not listed the transaction yet (`fault` None) or fails with `fault`."""
    store = bot.app[SERVICES].store
    started = await copy_link(bot, "U0PAYER")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        payment = store.payment(started.payment.id)
        assert payment is not None
        item = sandbox.invoices[212948]
        sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})  # in PayHQ
        if end == "superseded":
            bot.app[SETTLEMENT]._supersede([payment], payment, None)
        else:
            await rounds(bot, 3)  # the poller credits it on the invoice's word
        ended = store.payment(payment.id)
        assert ended is not None and ended.state.value == end, ended.state
        if ended.paid_at is not None:  # marked a minute ago: the card comes after it
            marked = ended.paid_at - timedelta(minutes=1)
            store.update_payment(ended.id, paid_at=marked.isoformat(timespec="seconds"))
        data = {**page.fields, "action": "pay"}
        async with browser.post(
            urljoin(hpp, page.action), data=data, allow_redirects=False
        ) as paid:
            back = paid.headers["Location"]
        (tx,) = sandbox.transactions.values()
        lagging = sandbox.transactions.pop(tx.lookup_id)
        if fault is not None:
            sandbox.transactions[tx.lookup_id] = lagging
            sandbox.inject(fault, count=50, path=LOOKUP + tx.lookup_id)
        async with browser.get(back) as landing:
            assert landing.status == 200
    sandbox.clear_faults()
    sandbox.transactions[tx.lookup_id] = lagging
    return payment.id


@pytest.mark.parametrize("fault", [None, "forbidden", "error"])
@pytest.mark.parametrize("end", ["superseded", "paid"])
async def test_a_card_taken_after_the_invoice_was_marked_paid_is_told_though_its_lookup_lagged(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    end: str,
    fault: str | None,
) -> None:
    """The invoice's word says nothing of this card: only the return names it, and it is
    kept and asked about again until Payfirma answers for the transaction."""
    slack, _ = fake_slack
    store = bot.app[SERVICES].store
    payment_id = await land_after(bot, sandbox, end, fault)
    await rounds(bot, 30)
    now = store.payment(payment_id)
    assert now is not None and now.receipt is not None, now
    assert any("paid twice" in post["text"] for post in slack.posted_to("C0BILLING"))


async def test_a_transaction_whose_amount_cannot_be_read_is_unknown_and_kept(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession
) -> None:
    """An answer that parses but whose money makes no sense is an unreadable answer like
    any other: the payment is unknown, and the id is kept to look up again."""
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.transactions[back["lookup_id"]].currency = "C$"
    said = await provider.check_payment(check_for("212948", Money.of("57.75", "CAD"), **back))
    assert said.status is OutcomeStatus.UNKNOWN
    assert said.provider_reference == back["lookup_id"]


@pytest.mark.parametrize("step", [".", ".."])
async def test_a_return_whose_lookup_id_is_a_path_step_is_not_looked_up_or_kept(
    provider: PayfirmaProvider, sandbox: SandboxState, http: aiohttp.ClientSession, step: str
) -> None:
    """`..` after the lookup path names another of Payfirma's resources (its transaction
    list), not a transaction: a return carrying it is not Payfirma's, asks nothing, and
    leaves nothing to be asked again; the invoice's own status answers."""
    url = await start(provider, "212948")
    back = await pay_on_page(http, url)
    sandbox.inject("error", count=5, path=LOOKUP + step)  # were it asked, it would fail
    said = await provider.check_payment(
        check_for("212948", Money.of("57.75", "CAD"), **{**back, "lookup_id": step})
    )
    assert said.provider_reference is None, said
    assert said.status is OutcomeStatus.PENDING, said
