"""Payfirma returns that anyone could have sent: they must not end or fail a customer's payment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, PaymentCheck, PaymentState
from bot.web import SERVICES
from plugins.payfirma import PayfirmaProvider, wire
from plugins.payfirma.landing import mismatch
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.conftest import pay_on_page, pay_request
from tests.payfirma.test_payfirma_core import (
    TEAM,
    bot,
    copy_link,
    copy_link_for,
    pay_through_the_bot,
)
from tests.payfirma.test_payfirma_payment import start

__all__ = ["bot"]


async def test_a_cancel_without_the_links_state_does_not_end_the_payment(
    bot: TestServer,
) -> None:
    """The customer opened the link (the browser keeps our cookie) and is on Payfirma's
    page; another site sends that browser to our return saying CANCELED, without the
    `state` only Payfirma's page knows. Payfirma's page can still take the money, and the
    link must still work: the return is not this payment's own word."""
    started = await copy_link(bot, "U0PAYER")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
        forged = str(bot.make_url("/landing/payfirma?result=CANCELED"))
        async with browser.get(forged) as answer:
            shown = await answer.text()
        payment = bot.app[SERVICES].store.payment(started.payment.id)
        assert payment is not None
        assert payment.state is PaymentState.OPENED, (payment.state, shown)
        async with browser.get(started.pay_url, allow_redirects=False) as again:
            assert again.status == 303, "the customer's link still leads to Payfirma's page"


async def test_after_a_restart_only_the_links_own_state_cancels(bot: TestServer) -> None:
    """The process that sent the `state` is gone (a restart): the core still knows the
    link token's hash, so a cross-site CANCELED leaves the payment watched and the
    return Payfirma's page makes, with the link's own `state`, still cancels it."""
    started = await copy_link(bot, "U0PAYER")
    services = bot.app[SERVICES]
    provider = services.connections.get(TEAM, "payfirma")
    assert isinstance(provider, PayfirmaProvider)
    provider._states.clear()  # what a new process remembers
    token = started.pay_url.rsplit("/", 1)[1]
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(started.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
        landing = "/landing/payfirma?result=CANCELED"
        async with browser.get(str(bot.make_url(landing))) as answer:
            await answer.read()
        payment = services.store.payment(started.payment.id)
        assert payment is not None and payment.state is PaymentState.OPENED
        async with browser.get(str(bot.make_url(f"{landing}&state={token}"))) as answer:
            await answer.read()
    payment = services.store.payment(started.payment.id)
    assert payment is not None and payment.state is PaymentState.CANCELLED


async def test_an_old_declined_lookup_without_state_does_not_fail_a_new_payment(
    provider: PayfirmaProvider, http: aiohttp.ClientSession
) -> None:
    """A return naming an earlier page's declined transaction (same invoice, same
    amount) but no `state` is not Payfirma's return for this payment: Payfirma sends back
    the `state` it was given. Taken as this payment's, it fails a page that is still
    open and, kept as its reference, makes every later check read that old decline."""
    first = await start(provider, "212947")  # $102.50: declined on the page
    back = await pay_on_page(http, first)
    assert back["result"] == "failure" and back["state"] == "link-token-0f3a"
    second = pay_request("212947", Money.of("102.50", "CAD"), reference="pay_2", token="tok-2")
    await provider.start_payment(second)
    forged = PaymentCheck(
        invoice_ids=("212947",),
        amount=Money.of("102.50", "CAD"),
        reference="pay_2",
        landing_params={"result": "failure", "lookup_id": back["lookup_id"]},
    )
    outcome = await provider.check_payment(forged)
    assert outcome.status is OutcomeStatus.PENDING, outcome
    assert outcome.provider_reference is None


async def test_an_earlier_attempts_decline_with_the_new_links_state_does_not_fail_it(
    bot: TestServer, sandbox: SandboxState
) -> None:
    """Whoever holds the customer's link holds its `state` too: a return naming an
    earlier attempt's declined transaction (same invoice, same amount) with the new link's
    `state` must not fail the new attempt, whose page can still take the card. Payfirma
    stamped that decline before the new attempt began, so it is not the new one's."""
    _, declined_id = await pay_through_the_bot(bot, "212947", "102.50")
    (tx,) = sandbox.transactions.values()
    an_hour = 3_600_000
    sandbox.transactions[tx.lookup_id] = replace(tx, time_ms=tx.time_ms - an_hour)
    again = await copy_link_for(bot, "212947", "102.50")
    assert again.payment.id != declined_id
    token = again.pay_url.rsplit("/", 1)[1]
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(again.pay_url, allow_redirects=False) as answer:
            assert answer.status == 303
        replayed = f"/landing/payfirma?result=failure&lookup_id={tx.lookup_id}&state={token}"
        async with browser.get(str(bot.make_url(replayed))) as answer:
            shown = await answer.text()
        assert "Payment failed" not in shown
        async with browser.get(again.pay_url, allow_redirects=False) as still:
            assert still.status == 303, "the customer's link still leads to Payfirma's page"
    payment = bot.app[SERVICES].store.payment(again.payment.id)
    assert payment is not None and payment.state is PaymentState.OPENED, payment
    assert payment.provider_reference is None


async def test_a_decline_of_the_attempt_itself_still_fails_it(
    provider: PayfirmaProvider, http: aiohttp.ClientSession
) -> None:
    """The time only sets aside what came before the attempt: its own decline, stamped
    after it began (or within the slack for Payfirma's clock), still fails it."""
    began = datetime.now(UTC)
    first = await start(provider, "212947")
    back = await pay_on_page(http, first)
    check = PaymentCheck(
        invoice_ids=("212947",),
        amount=Money.of("102.50", "CAD"),
        reference="pay_1",
        landing_params=back,
        started_at=began + timedelta(seconds=60),  # Payfirma's clock a minute behind ours
    )
    outcome = await provider.check_payment(check)
    assert outcome.status is OutcomeStatus.FAILED, outcome


BEGAN = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def transaction(result: str, stamp: object) -> wire.Transaction:
    return wire.Transaction.model_validate(
        {
            "lookup_id": "L1",
            "amount": Decimal("102.50"),
            "currency": "CAD",
            "transaction_result": result,
            "transaction_type": "SALE",
            "custom_id": "212947",
            "transaction_time": stamp,
        }
    )


def began_at(when: datetime | None) -> PaymentCheck:
    return PaymentCheck(
        invoice_ids=("212947",),
        amount=Money.of("102.50", "CAD"),
        reference="pay_2",
        started_at=when,
    )


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.mark.parametrize(
    ("result", "stamp", "set_aside"),
    [
        ("DECLINED", millis(BEGAN - timedelta(hours=1)), True),
        ("DECLINED", "2026-12-05T07:00:00Z", True),
        ("CANCELED", millis(BEGAN - timedelta(hours=1)), True),
        # Payfirma's clock a few minutes behind ours: still this attempt's decline.
        ("DECLINED", millis(BEGAN - timedelta(minutes=3)), False),
        ("DECLINED", millis(BEGAN + timedelta(minutes=1)), False),
        # No time to go by, or text that names no zone: as if no time were given.
        ("DECLINED", None, False),
        ("DECLINED", "yesterday at noon", False),
        ("DECLINED", "2026-12-05T07:00:00", False),
        # Money is never hidden by a time: the core knows a receipt kept twice.
        ("APPROVED", millis(BEGAN - timedelta(days=2)), False),
    ],
)
def test_a_transaction_stamped_before_the_attempt_began_is_not_its(
    result: str, stamp: object, set_aside: bool
) -> None:
    said = mismatch(transaction(result, stamp), began_at(BEGAN), "212947", {})
    assert (said is not None) is set_aside, said


def test_without_the_attempts_start_no_transaction_is_set_aside_by_its_time() -> None:
    old = transaction("DECLINED", millis(BEGAN - timedelta(days=2)))
    assert mismatch(old, began_at(None), "212947", {}) is None
