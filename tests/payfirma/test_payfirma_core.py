"""Through the core: the bot's /pay link, Payfirma's page, and the bot's /landing/payfirma,
which finds the payment by our token in `state` and asks the plugin how it went."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import CheckoutRefused, NotPayable, OutcomeUnknown, Started
from bot.models import Money, PaymentState
from bot.pages import SETTLEMENT
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import OUTBOX, POLLER, SERVICES, create_app
from plugins.payfirma import PayfirmaCredentials
from plugins.payfirma.sandbox import DEFAULT_HPP_TOKEN, SandboxState, billing
from tests.fake_slack import FakeSlack
from tests.payfirma.conftest import CLIENT_ID, CLIENT_SECRET, CardPage

TEAM = "T0TEAM"


@pytest.fixture
async def bot(
    settings: Settings, sandbox: SandboxState, server: TestServer
) -> AsyncIterator[TestServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    public_url = f"http://127.0.0.1:{port}"
    sandbox.return_url = f"{public_url}/landing/payfirma"  # as set in PayHQ's HPP settings
    app = create_app(
        settings.model_copy(update={"public_url": public_url}),
        make_plugin_manager(allowed={"payfirma"}),
    )
    bot = TestServer(app, host="127.0.0.1", port=port)
    await bot.start_server()
    base = str(server.make_url("")).rstrip("/")
    credentials = PayfirmaCredentials(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        auth_url=base,
        gateway_url=base,
        hpp_token=DEFAULT_HPP_TOKEN,
    )
    await app[SERVICES].connections.connect(TEAM, "payfirma", credentials, connected_by="U0ADMIN")
    try:
        yield bot
    finally:
        await bot.close()


async def pay_through_the_bot(
    bot: TestServer, invoice_id: str, total: str, *, then: Callable[[], object] | None = None
) -> tuple[str, str]:
    """Start like the Slack button does, then be the payer's browser; (landing page, payment).
    `then` runs just before the card is paid (to break Payfirma's API for the landing)."""
    started = await bot.app[SERVICES].checkout.start(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="payfirma",
        invoice_ids=[invoice_id],
        method_id="hpp",
        issuer_id=None,
        expected=Money.of(total, "CAD"),
    )
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
            hpp = answer.headers["Location"]
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        if then is not None:
            then()
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            assert str(landing.url).startswith(str(bot.make_url("/landing/payfirma")))
            assert landing.url.query["state"] == started.token
            return await landing.text(), started.payment.id


async def test_an_approved_payment_lands_paid(bot: TestServer, sandbox: SandboxState) -> None:
    html, payment_id = await pay_through_the_bot(bot, "212948", "57.75")
    assert "Thank you for your payment" in html and "CA$57.75" in html
    payment = bot.app[SERVICES].store.payment(payment_id)
    assert payment is not None and payment.state is PaymentState.PAID
    # Paid as its transaction says: nothing documents that Payfirma marks the invoice.
    assert sandbox.invoices[212948].status == "UNPAID"
    # the customer's receipt carries Payfirma's transaction, not an id of ours
    assert payment.receipt and payment.receipt != payment.settlement_id
    assert f"Receipt reference: <b>{payment.receipt}</b>" in html


async def test_a_return_whose_lookup_fails_is_looked_up_again_by_the_poller(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The return is the one place Payfirma names the transaction, and nothing says the
    invoice is marked paid: a lookup that fails at the landing must not lose it."""
    slack, _ = fake_slack
    html, payment_id = await pay_through_the_bot(
        bot, "212948", "57.75", then=lambda: sandbox.inject("error", count=20)
    )
    assert "Thank you for your payment" not in html
    store = bot.app[SERVICES].store
    waiting = store.payment(payment_id)
    (tx,) = sandbox.transactions.values()
    assert waiting is not None and waiting.state is not PaymentState.PAID
    assert waiting.provider_reference == tx.lookup_id  # kept from the return
    sandbox.clear_faults()
    store.update_payment(payment_id, next_check_at=0)
    for _ in range(10):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.1)
    paid = store.payment(payment_id)
    assert paid is not None and paid.state is PaymentState.PAID
    assert sandbox.invoices[212948].status == "UNPAID"  # known from the transaction alone
    (posted,) = slack.posted_to("C0BILLING")
    assert "mark it paid in PayHQ" in str(posted)


async def test_a_transaction_found_while_the_invoice_cannot_be_read_is_paid_all_the_same(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """The transaction decides; the invoice is read only for what #billing should do."""
    html, payment_id = await pay_through_the_bot(
        bot, "212948", "57.75", then=lambda: sandbox.inject("error", 20, "/invoice/212948")
    )
    assert "Thank you for your payment" in html
    paid = bot.app[SERVICES].store.payment(payment_id)
    assert paid is not None and paid.state is PaymentState.PAID
    (tx,) = sandbox.transactions.values()
    assert paid.provider_reference == tx.lookup_id
    assert sandbox.count("GET", "/invoice/212948") >= 1  # it was tried


async def test_a_declined_payment_lands_failed(bot: TestServer, sandbox: SandboxState) -> None:
    html, payment_id = await pay_through_the_bot(bot, "212947", "102.50")
    assert "Payment failed" in html
    payment = bot.app[SERVICES].store.payment(payment_id)
    assert payment is not None and payment.state is PaymentState.FAILED
    assert sandbox.invoices[212947].status == "UNPAID"


# Receivables settle once: one live customer link per invoice, shown again to anyone
# allowed, and an invoice both linked and e-mailed is confirmed once when the customer pays.


async def copy_link(bot: TestServer, user: str, invoice_id: str = "212948") -> Started:
    return await bot.app[SERVICES].checkout.start(
        team_id=TEAM,
        user_id=user,
        provider="payfirma",
        invoice_ids=[invoice_id],
        method_id="hpp",
        issuer_id=None,
        expected=Money.of("57.75", "CAD"),
    )


async def test_copy_payment_link_shows_the_same_live_link_again(bot: TestServer) -> None:
    first = await copy_link(bot, "U0PAYER")
    again = await copy_link(bot, "U0OTHER")
    assert again.reused and again.pay_url == first.pay_url
    assert again.payment.id == first.payment.id
    assert 0 < again.lifetime <= first.lifetime


def reprice(sandbox: SandboxState, invoice_id: int, total: str) -> None:
    """The invoice's amount changes at Payfirma (a line edited in PayHQ)."""
    item = sandbox.invoices[invoice_id]
    sandbox.invoices[invoice_id] = item.model_copy(update={"total": Decimal(total)})


async def test_an_unopened_link_for_an_old_amount_is_withdrawn_and_a_new_one_asks_the_new(
    bot: TestServer, sandbox: SandboxState
) -> None:
    first = await copy_link(bot, "U0PAYER")
    reprice(sandbox, 212948, "151.00")
    again = await copy_link_for(bot, "212948", "151.00")
    assert not again.reused and again.pay_url != first.pay_url
    assert again.payment.amount == Money.of("151.00", "CAD")
    old = bot.app[SERVICES].store.payment(first.payment.id)
    assert old is not None and old.state is PaymentState.CANCELLED
    assert "changed to CA$151.00" in (old.last_error or "")
    async with aiohttp.ClientSession() as browser:
        async with browser.get(first.pay_url, allow_redirects=False) as page:
            assert page.status == 410, "the old link no longer reaches Payfirma's page"
        async with browser.get(again.pay_url) as page:
            assert "CA$151.00" in await page.text()


async def test_an_opened_link_for_an_old_amount_stands_and_paying_it_is_never_left_unsaid(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new link is refused while the opened one stands; the customer then pays its old
    amount and Payfirma approves: that money is confirmed (billing hears what was
    charged), and the shortfall against the invoice's new amount is logged."""
    slack, _ = fake_slack
    first = await copy_link(bot, "U0PAYER")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(first.pay_url, allow_redirects=False) as answer:
            hpp = answer.headers["Location"]  # the customer opened it: it may be paid now
        reprice(sandbox, 212948, "150.00")
        with pytest.raises(CheckoutRefused, match=r"changed from CA\$57.75 to CA\$150.00"):
            await copy_link_for(bot, "212948", "150.00")
        async with browser.get(hpp) as answer:
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            html = await landing.text()
    assert "Thank you for your payment" in html
    for _ in range(10):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.1)
    paid = bot.app[SERVICES].store.payment(first.payment.id)
    assert paid is not None and paid.state is PaymentState.PAID
    assert sandbox.invoices[212948].status == "UNPAID"  # CA$150.00 asked, CA$57.75 paid
    (posted,) = [m for m in slack.posted_to("C0BILLING") if "paid" in str(m).lower()]
    assert "CA$57.75" in str(posted)
    assert "asks for CA$150.00 now" in str(posted) and "Collect the rest in PayHQ" in str(posted)
    assert "asks for CA$150.00 now" in caplog.text


def test_the_sandbox_takes_a_drifted_total_as_what_the_invoice_asks(
    sandbox: SandboxState,
) -> None:
    """Drift stands for the invoice changing at Payfirma: the total it had before no
    longer pays it, as the drifted answers would otherwise show it paid for $150."""
    sandbox.card_payments_mark_paid = True
    sandbox.drift["212948"] = {"total": Decimal("150.00")}
    tx = billing.charge(sandbox, Decimal("57.75"), "CAD", "212948", source="HPP")
    assert tx.result == "APPROVED"
    assert sandbox.invoices[212948].status == "UNPAID"
    sandbox.drift.clear()
    billing.charge(sandbox, Decimal("57.75"), "CAD", "212948", source="HPP")
    assert sandbox.invoices[212948].status == "PAID"


async def test_linked_and_emailed_at_once_the_customer_pays_once_one_confirmation(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    emailed = await svc.checkout.send_by_email(
        team_id=TEAM, user_id="U0OTHER", provider="payfirma", invoice_id="212948", to=None
    )
    html, paid_id = await pay_through_the_bot(bot, "212948", "57.75")
    assert "Thank you for your payment" in html
    for _ in range(10):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.1)
    assert len(slack.posted_to("C0BILLING")) == 1
    assert "by e-mail" not in str(slack.posted_to("C0BILLING")[0])
    after = svc.store.payment(emailed.id)
    assert after is not None and after.state is PaymentState.SUPERSEDED
    paid = svc.store.payment(paid_id)
    assert paid is not None and paid.state is PaymentState.PAID


async def test_an_email_whose_answer_was_lost_blocks_no_customer_link(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """An e-mail cannot take money by itself: while its outcome is unknown the team may
    still copy the customer's link, and the invoice is still watched."""
    svc = bot.app[SERVICES]
    sandbox.inject("error", path="/invoice/212948/send")
    with pytest.raises(OutcomeUnknown, match="may have gone out"):
        await svc.checkout.send_by_email(
            team_id=TEAM, user_id="U0OTHER", provider="payfirma", invoice_id="212948", to=None
        )
    (emailed,) = svc.store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert emailed.state is PaymentState.UNKNOWN
    started = await copy_link(bot, "U0PAYER")
    assert "/pay/" in started.pay_url and not started.reused


async def test_a_declined_customer_is_told_plainly_whom_to_ask_and_billing_hears(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    html, payment_id = await pay_through_the_bot(bot, "212947", "102.50")
    assert "Payment failed" in html and "declined" in html.lower()
    assert html.lower().count("nothing was charged") == 1
    assert "Slack" not in html and "invoicebot" not in html, "a customer is not in Slack"
    assert "contact the sender of the invoice for a new payment link" in html

    again = await copy_link_for(bot, "212947", "102.50")
    assert not again.reused and again.payment.id != payment_id, "a fresh attempt after a decline"
    for _ in range(3):
        await bot.app[OUTBOX].send_due()
    (posted,) = slack.posted_to("C0BILLING")
    said = str(posted["blocks"])
    assert "Payment failed" in said and "212947" in said and "CA$102.50" in said
    assert "declined" in said.lower()
    fresh = [
        element
        for block in posted["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "copy_link"
    ]
    assert fresh and fresh[0]["value"].startswith("payfirma|212947")  # a new link, one click


async def copy_link_for(bot: TestServer, invoice_id: str, total: str) -> Started:
    return await bot.app[SERVICES].checkout.start(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="payfirma",
        invoice_ids=[invoice_id],
        method_id="hpp",
        issuer_id=None,
        expected=Money.of(total, "CAD"),
    )


@pytest.mark.parametrize("settings", [{"business_name": "Acme Hosting"}], indirect=True)
async def test_a_failed_customer_link_reopened_names_the_business_not_slack(
    bot: TestServer, sandbox: SandboxState
) -> None:
    started = await copy_link_for(bot, "212947", "102.50")
    svc = bot.app[SERVICES]
    svc.payments.move(
        started.payment.id, PaymentState.FAILED, last_error="Card declined.", next_check_at=None
    )
    async with aiohttp.ClientSession() as browser, browser.get(started.pay_url) as page:
        html = await page.text()
    assert "This payment failed" in html and "Card declined" in html
    assert "contact Acme Hosting for a new payment link" in html
    assert "Acme Hosting</title>" in html
    assert "Slack" not in html and "invoicebot" not in html


async def test_two_sends_at_once_send_one_email_and_the_second_says_it_is_being_sent(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    sandbox.latency = 0.3  # the first send is still on its way when the second comes

    def send(user: str) -> Any:
        return svc.checkout.send_by_email(
            team_id=TEAM, user_id=user, provider="payfirma", invoice_id="212948", to=None
        )

    first, second = await asyncio.gather(send("U0PAYER"), send("U0OTHER"), return_exceptions=True)
    refused = second if isinstance(second, CheckoutRefused) else first
    assert isinstance(refused, CheckoutRefused), (first, second)
    assert "Invoice 212948 is being e-mailed to the customer right now" in refused.message
    assert len(sandbox.emails) == 1


async def test_a_send_whose_answer_failed_says_once_that_it_may_have_gone_out(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    sandbox.inject("error", path="/invoice/212948/send")
    with pytest.raises(OutcomeUnknown) as raised:
        await svc.checkout.send_by_email(
            team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948", to=None
        )
    said = raised.value.message
    assert said.count("may have") == 1 and "check PayHQ before sending again" in said, said
    assert "billing channel hears when the customer pays" in said


@pytest.mark.parametrize("alias", ["0212948", " 212948", "00212948"])
async def test_an_invoice_asked_for_by_another_spelling_of_its_id_is_refused(
    bot: TestServer, alias: str
) -> None:
    """Payfirma reads "0212948" as 212948. Live links and settled invoices are checked by
    id as the provider writes it, so a forged click naming an alias could pay an invoice
    a second time: only the provider's own spelling starts anything."""
    first = await copy_link(bot, "U0PAYER")
    with pytest.raises(NotPayable):
        await copy_link(bot, "U0PAYER", alias)
    made = bot.app[SERVICES].store.payments_for_invoices(TEAM, "payfirma", ["212948", alias])
    assert [payment.id for payment in made] == [first.payment.id]


async def test_a_return_cut_short_by_a_stop_is_asked_about_again(
    bot: TestServer, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped (as by kill -9) while Payfirma is asked about the return's transaction:
    the return is the one place Payfirma names it, so it is kept from before the ask,
    and the next check, after a restart, asks with it and confirms the payment."""
    svc = bot.app[SERVICES]
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
    params = dict(aiohttp.helpers.URL(back).query)
    assert params.get("lookup_id")
    sandbox.inject("hang", count=5)
    payment = svc.store.payment(started.payment.id)
    assert payment is not None
    settlement = bot.app[SETTLEMENT]
    kept, keep = asyncio.Event(), settlement.store.keep_return

    def keeping(payment_id: str, params: dict[str, str]) -> None:
        keep(payment_id, params)
        kept.set()

    monkeypatch.setattr(settlement.store, "keep_return", keeping)
    asking = asyncio.create_task(settlement.check(payment, params))
    await kept.wait()
    # The process is gone: nothing after this point ran, the shared ask included.
    for flight in [*settlement._checks._running.values(), asking]:
        flight.cancel()
    await asyncio.gather(asking, return_exceptions=True)
    sandbox.clear_faults()
    again = svc.store.payment(payment.id)
    assert again is not None and again.provider_reference is None
    checked = await settlement.check(again)  # the poller's check, no return of its own
    assert checked.state is PaymentState.PAID
    assert svc.store.kept_return(payment.id) is None


async def test_half_a_character_in_a_customers_name_does_not_stop_the_payment(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Payfirma's JSON may carry half of a character as an escape ("\\ud800"): the
    customer's name, kept with the payment, could not be written to the database, so
    the payment could not start."""
    invoice = sandbox.invoices[212948]
    sandbox.invoices[212948] = invoice.model_copy(update={"recipient_first_name": "Zo\ud800e"})
    html, payment_id = await pay_through_the_bot(bot, "212948", "57.75")
    assert "Thank you for your payment" in html
    payment = bot.app[SERVICES].store.payment(payment_id)
    assert payment is not None and payment.state is PaymentState.PAID
