"""A customer's link outlives a declined card: Payfirma's page takes one card, so the
link asks Payfirma for a fresh page when opened again, and the invoice is settled once."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import aiohttp
from aiohttp.test_utils import TestServer

from bot.checkout import Started
from bot.models import Money, PaymentState
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from plugins.payfirma.sandbox.payment_page import ISSUER_DECLINE, PAY_ROUTE
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import HPP_INIT, CardPage
from tests.payfirma.test_payfirma_core import TEAM, bot

__all__ = ["bot"]  # the bot, on loopback with the sandbox, as in test_payfirma_core


async def copy_link(bot: TestServer, invoice_id: str, total: str) -> Started:
    return await bot.app[SERVICES].checkout.start(
        team_id=TEAM,
        user_id="U0SENDER",
        provider="payfirma",
        invoice_ids=[invoice_id],
        method_id="hpp",
        issuer_id=None,
        expected=Money.of(total, "CAD"),
    )


async def open_link(browser: aiohttp.ClientSession, link: Started) -> str:
    """The customer opens the link; the Payfirma page it leads to."""
    async with browser.get(link.pay_url, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
        return answer.headers["Location"]


async def pay_by_card(browser: aiohttp.ClientSession, hpp: str) -> str:
    """Pay on Payfirma's page; the bot's landing URL the browser is sent back to."""
    async with browser.get(hpp) as answer:
        page = CardPage(await answer.text())
    data = {**page.fields, "action": "pay"}
    async with browser.post(urljoin(hpp, page.action), data=data, allow_redirects=False) as back:
        assert back.status == 303
        return back.headers["Location"]


async def read(browser: aiohttp.ClientSession, url: str) -> str:
    async with browser.get(url) as answer:
        return await answer.text()


async def deliver(bot: TestServer) -> None:
    for _ in range(3):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.05)


async def test_after_a_declined_card_the_same_link_pays_once(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    link = await copy_link(bot, "212948", "57.75")
    sandbox.inject("decline", path=PAY_ROUTE)  # the customer's first card: its issuer says no
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        first_page = await open_link(browser, link)
        declined_at = await pay_by_card(browser, first_page)
        html = await read(browser, declined_at)
        assert "Card declined" in html and ISSUER_DECLINE in html
        assert "Your payment link still works" in html and "Payment failed" not in html
        assert html.lower().count("nothing was charged") == 1
        assert f"href='{link.pay_url.removeprefix(str(bot.make_url('')))}'" in html
        declined = svc.store.payment(link.payment.id)
        assert declined is not None and declined.state is PaymentState.OPENED
        await deliver(bot)
        (told,) = slack.posted_to("U0SENDER")
        assert "declined" in told["text"] and "still works" in told["text"]
        assert "HTTP" not in told["text"] and "402" not in told["text"]
        assert slack.posted_to("C0BILLING") == [], "#billing hears the payment, not a failure"
        again = await copy_link(bot, "212948", "57.75")
        assert again.reused and again.pay_url == link.pay_url, "the link is not withdrawn"

        second_page = await open_link(browser, link)
        assert second_page != first_page, "a fresh page for another card"
        assert "failed" not in (await read(browser, declined_at)).lower()  # reloaded: old news
        assert await open_link(browser, link) == second_page, "the fresh page is not spent"
        paid_at = await pay_by_card(browser, second_page)
        pages = await asyncio.gather(*(read(browser, paid_at) for _ in range(3)))
        await deliver(bot)
        assert all("Thank you for your payment" in page for page in pages)
        assert "Thank you for your payment" in await read(browser, declined_at)
        assert "already been paid" in await read(browser, link.pay_url)
    paid = svc.store.payment(link.payment.id)
    assert paid is not None and paid.state is PaymentState.PAID and not paid.last_error
    assert sandbox.invoices[212948].status == "PAID"
    (confirmation,) = slack.posted_to("C0BILLING")
    assert "212948" in str(confirmation) and "fail" not in str(confirmation).lower()
    assert len(slack.posted_to("U0SENDER")) == 1


async def test_at_an_even_amount_every_card_is_declined_and_the_link_stays(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """The sandbox is no kinder than Payfirma's: its processor declines by amount."""
    slack, _ = fake_slack
    link = await copy_link(bot, "212947", "102.50")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        for _ in range(2):
            html = await read(browser, await pay_by_card(browser, await open_link(browser, link)))
            assert "Card declined" in html and "whole-dollar part is even" in html
            await deliver(bot)
    payment = bot.app[SERVICES].store.payment(link.payment.id)
    assert payment is not None and payment.state is PaymentState.OPENED
    for _ in range(30):  # Slack takes one message a second per channel
        await deliver(bot)
    assert len(slack.posted_to("U0SENDER")) == 2, "each declined page is told once"
    assert sandbox.invoices[212947].status == "UNPAID"


async def test_a_declined_link_whose_invoice_changed_says_a_new_link_is_needed(
    bot: TestServer,
    sandbox: SandboxState,
) -> None:
    link = await copy_link(bot, "212948", "57.75")
    sandbox.inject("decline", path=PAY_ROUTE)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        await read(browser, await pay_by_card(browser, await open_link(browser, link)))
        sandbox.drift["212948"] = {"total": 150}
        async with browser.get(link.pay_url, allow_redirects=False) as answer:
            assert answer.status == 410
            html = await answer.text()
    assert "This payment failed" in html and "A new link is needed" in html
    assert "contact the sender of the invoice for a new payment link" in html
    ended = bot.app[SERVICES].store.payment(link.payment.id)
    assert ended is not None and ended.state is PaymentState.FAILED


async def test_two_tabs_opening_a_declined_link_at_once_get_one_fresh_page(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    link = await copy_link(bot, "212948", "57.75")
    sandbox.inject("decline", path=PAY_ROUTE)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        await read(browser, await pay_by_card(browser, await open_link(browser, link)))
        pages = await asyncio.gather(*(open_link(browser, link) for _ in range(2)))
        assert pages[0] == pages[1] and sandbox.count("POST", HPP_INIT) == 2
        back = await pay_by_card(browser, pages[0])
        await asyncio.gather(read(browser, back), read(browser, back), deliver(bot))
        await deliver(bot)
    assert len(slack.posted_to("C0BILLING")) == 1
