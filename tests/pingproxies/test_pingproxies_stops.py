"""PingProxies attempts that may still be paid are not given up on: a saved-card charge
whose process stops between two writes (what is written after the provider's answer
commits together, and a restart asks about any attempt with no check due), and an opened
payment page failed on the invoice's last error, which may be another card's."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.checkout import Started
from bot.models import PaymentState
from bot.settlement import Settlement
from bot.web import OUTBOX, SERVICES
from plugins.pingproxies.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.pingproxies.conftest import TEAM, PageForm
from tests.pingproxies.test_pingproxies_core import charge, settle_quietly


class Stopped(BaseException):
    """kill -9: nothing after this point runs, no handler sees it."""


async def charge_killed_before_its_first_check(
    bot: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card charge the provider answered, whose process dies before the first check of
    it is scheduled (kill -9 right after the answer)."""

    def stop(self: Settlement, payment_id: str, delay: float | None = None) -> None:
        raise Stopped

    with monkeypatch.context() as patched:
        patched.setattr(Settlement, "schedule_first_check", stop)
        with pytest.raises(Stopped):
            await charge(bot)


async def test_a_stop_before_the_first_check_is_scheduled_still_settles_the_charge(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    await charge_killed_before_its_first_check(bot, monkeypatch)
    assert sandbox.invoices["inv_sbx0101"].invoice_status == "paid"  # the card was charged
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.CREATED  # nothing after the answer was kept
    svc.checkout.settlement.in_flight.clear()  # a new process holds nothing in flight
    svc.checkout.settlement.reconcile_interrupted(started_before=time.time())
    await settle_quietly(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.PAID
    assert len(slack.posted_to("C0BILLING")) == 1


async def test_a_charge_cut_short_with_no_message_to_replace_tells_its_payer_once(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The payer of a charge started without a response URL hears, in their messages
    with the app, that its outcome is not known yet and not to pay again."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    await charge_killed_before_its_first_check(bot, monkeypatch)
    svc.checkout.settlement.in_flight.clear()
    for _ in range(2):  # a second restart finds nothing left to hand over
        svc.checkout.settlement.reconcile_interrupted(started_before=time.time())
    await bot.app[OUTBOX].send_due()
    (told,) = slack.posted_to("U0PAYER")
    assert "not known yet" in told["text"] and "Do not pay again" in told["text"]
    await settle_quietly(bot)
    assert len(slack.posted_to("U0PAYER")) == 1 and len(slack.posted_to("C0BILLING")) == 1


async def test_a_restart_checks_an_issued_attempt_that_has_no_check_due(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a stop between the two writes left it before they were one commit."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]

    async def stop(self: Settlement, *args: object, **kwargs: object) -> None:
        raise Stopped

    with monkeypatch.context() as patched:
        patched.setattr(Settlement, "schedule_first_check", lambda *args, **kwargs: None)
        patched.setattr(Settlement, "check", stop)
        with pytest.raises(Stopped):
            await charge(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert (payment.state, payment.next_check_at) == (PaymentState.LINK_ISSUED, None)
    svc.checkout.settlement.in_flight.clear()
    svc.checkout.settlement.reconcile_interrupted(started_before=time.time())
    await settle_quietly(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.PAID
    assert len(slack.posted_to("C0BILLING")) == 1


async def redirect_link(bot: TestServer) -> Started:
    """A payer's link to PingProxies' checkout page (a redirect, not a saved card)."""
    svc = bot.app[SERVICES]
    options = await svc.checkout.options(TEAM, "pingproxies", ["inv_sbx0101"])
    return await svc.checkout.start(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="pingproxies",
        invoice_ids=["inv_sbx0101"],
        method_id="stripe",
        issuer_id=None,
        expected=options.total,
        response_url=None,
    )


def _last_error(sandbox: SandboxState, error: str | None) -> None:
    invoice = sandbox.invoices["inv_sbx0101"]
    sandbox.invoices["inv_sbx0101"] = invoice.model_copy(
        update={"invoice_last_payment_error": error}
    )


async def test_an_opened_page_failed_by_the_invoices_last_error_is_still_confirmed_when_paid(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The invoice's last payment error may be another card's: the payer's page, open in
    their browser, can still be paid, and that payment is confirmed."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    started = await redirect_link(bot)
    async with ClientSession() as browser:
        async with browser.get(
            bot.make_url(f"/pay/{started.token}"), allow_redirects=False
        ) as opened:
            checkout_page = opened.headers["Location"]
        assert svc.store.payment(started.payment.id).state is PaymentState.OPENED  # type: ignore[union-attr]
        _last_error(sandbox, "Your card was declined.")
        await settle_quietly(bot)
        failed = svc.store.payment(started.payment.id)
        assert failed is not None and failed.state is PaymentState.FAILED
        assert failed.next_check_at is not None  # watched: it may not be this page's
        async with browser.get(
            bot.make_url("/landing/pingproxies").with_query(state=started.token)
        ) as landing:
            told = await landing.text()
        assert "Payment not confirmed" in told and "Nothing was charged" not in told
        async with browser.get(bot.make_url(f"/pay/{started.token}")) as reopened:
            again = await reopened.text()
        assert "Payment not confirmed" in again and "Start again" not in again
        _last_error(sandbox, None)
        async with browser.get(checkout_page) as page:
            action = urljoin(checkout_page, PageForm(await page.text()).action)
        async with browser.post(action, data={"action": "pay"}, allow_redirects=False):
            pass
    await settle_quietly(bot)
    assert svc.store.payment(started.payment.id).state is PaymentState.PAID  # type: ignore[union-attr]
    assert len(slack.posted_to("C0BILLING")) == 1


@pytest.mark.parametrize("settings", [{"notify_failures": "payables"}], indirect=True)
async def test_billing_hears_a_failure_read_from_the_invoice_as_not_confirmed(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A payment that may still have gone through is not announced as failed: #billing
    reads what its payer reads (not confirmed, still checked), then the confirmation."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    started = await redirect_link(bot)
    async with ClientSession() as browser:
        async with browser.get(
            bot.make_url(f"/pay/{started.token}"), allow_redirects=False
        ) as opened:
            checkout_page = opened.headers["Location"]
        _last_error(sandbox, "Your card was declined.")  # another card's, on the invoice
        await settle_quietly(bot)
        failed = svc.store.payment(started.payment.id)
        assert failed is not None and failed.state is PaymentState.FAILED
        assert failed.next_check_at is not None
        (notice,) = slack.posted_to("C0BILLING")
        said = notice["text"]
        assert "Payment failed" not in said
        assert "not confirmed" in said and "Your card was declined" in said
        assert "keeps checking" in said
        _last_error(sandbox, None)
        async with browser.get(checkout_page) as page:
            action = urljoin(checkout_page, PageForm(await page.text()).action)
        async with browser.post(action, data={"action": "pay"}, allow_redirects=False):
            pass
    await settle_quietly(bot)
    assert svc.store.payment(started.payment.id).state is PaymentState.PAID  # type: ignore[union-attr]
    assert len(slack.posted_to("C0BILLING")) == 2  # the notice, then the confirmation


async def test_an_earlier_decline_on_the_invoice_does_not_fail_a_link_nobody_opened(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A saved card was declined; the payer then asks for a payment page. The invoice
    still carries that decline when the link is first checked: the link cannot have
    failed unopened, so it stays live, and paying it is confirmed."""
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    _last_error(sandbox, "Your card was declined.")  # the saved card's, before this link
    started = await redirect_link(bot)
    await settle_quietly(bot)
    waiting = svc.store.payment(started.payment.id)
    assert waiting is not None and waiting.state is PaymentState.LINK_ISSUED
    async with ClientSession() as browser:
        async with browser.get(bot.make_url(f"/pay/{started.token}")) as page:
            action = urljoin(str(page.url), PageForm(await page.text()).action)
        await settle_quietly(bot)  # opened now: the old decline is still not its outcome
        opened = svc.store.payment(started.payment.id)
        assert opened is not None and opened.state is PaymentState.OPENED
        async with browser.post(action, data={"action": "pay"}, allow_redirects=False):
            pass
    await settle_quietly(bot)
    assert svc.store.payment(started.payment.id).state is PaymentState.PAID  # type: ignore[union-attr]
    assert len(slack.posted_to("C0BILLING")) == 1
