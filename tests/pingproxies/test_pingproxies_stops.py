"""PingProxies attempts that may still be paid are not given up on: a saved-card charge
whose process stops between two writes is found and settled (what is written after the
provider's answer commits together, and a restart asks about any attempt with no check
due)."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.settlement import Settlement
from bot.web import SERVICES
from plugins.pingproxies.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.pingproxies.test_pingproxies_core import TEAM, bot, charge, settle_quietly

__all__ = ["bot"]  # the fixture, used by name


class Stopped(BaseException):
    """kill -9: nothing after this point runs, no handler sees it."""


async def test_a_stop_before_the_first_check_is_scheduled_still_settles_the_charge(
    bot: TestServer,
    sandbox: SandboxState,
    fake_slack: tuple[FakeSlack, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]

    def stop(self: Settlement, payment_id: str, delay: float | None = None) -> None:
        raise Stopped

    with monkeypatch.context() as patched:
        patched.setattr(Settlement, "schedule_first_check", stop)
        with pytest.raises(Stopped):
            await charge(bot)
    assert sandbox.invoices["inv_sbx0101"].invoice_status == "paid"  # the card was charged
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.CREATED  # nothing after the answer was kept
    svc.checkout.settlement.in_flight.clear()  # a new process holds nothing in flight
    svc.checkout.settlement.reconcile_interrupted(started_before=time.time())
    await settle_quietly(bot)
    (payment,) = svc.store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert payment.state is PaymentState.PAID
    assert len(slack.posted_to("C0BILLING")) == 1


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
