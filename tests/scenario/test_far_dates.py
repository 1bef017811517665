"""A provider's times at the calendar's edge (year 9999, year 1) are data like any other:
they never break a list, App Home or the records, whatever the workspace's zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, Payment, PaymentOutcome, PaymentState
from bot.pages import SETTLEMENT
from bot.records import Range, export
from bot.slack.home import home_view
from bot.slack.services import Services
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.conftest import QUIET_SCHEDULES
from tests.scenario.harness import Harness, text_of

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: a day later than any time east of UTC


def _opened_page(svc: Services) -> Payment:
    """An i3D.net payment of INV-24-0101 whose page the payer opened."""
    payment, _ = svc.payments.record(
        Payment(
            team_id="T0TEAM",
            provider="i3d",
            invoice_ids=("410001",),
            invoice_numbers=("INV-24-0101",),
            amount=Money.of("121.00", "EUR"),
            method_id="2",
            method_name="iDEAL",
            user_id="U0PAYER",
        )
    )
    assert svc.store.compare_and_set_state(payment.id, {PaymentState.CREATED}, PaymentState.OPENED)
    return payment


@pytest.fixture
def schedules() -> dict[str, Any]:
    return {**QUIET_SCHEDULES, "timezone": "Europe/Amsterdam"}


async def test_a_paid_time_in_year_9999_breaks_no_list(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    state.drift["410001"] = {"paymentStatus": 1, "paymentDate": LAST_SECOND, "remainingAmount": "0"}
    _, screen, _ = await h.command("paid")
    listed = text_of((await h.screen_after(screen)).message)
    assert "INV-24-0101" in listed and "went wrong" not in listed


async def test_a_payment_the_provider_dates_in_year_9999_is_in_this_months_records(
    harness: Harness,
) -> None:
    """The provider's paid time dates the settlement: one in year 9999 left it out of
    every export and failed App Home in a zone east of UTC. No payment is made in the
    future: such a time is when it was seen paid."""
    svc = harness.bot.app[SERVICES]
    payment = _opened_page(svc)
    outcome = PaymentOutcome(
        status=OutcomeStatus.PAID,
        message="ok",
        reference="r1",
        attributed=True,
        paid_at=datetime.fromtimestamp(LAST_SECOND, UTC),
    )
    harness.bot.app[SETTLEMENT].apply(svc.store.payment(payment.id), outcome)
    zone = ZoneInfo("Europe/Amsterdam")
    today = datetime.now(UTC).astimezone(zone).date()
    made = export(svc.store, "T0TEAM", Range(today.replace(day=1), today), zone, {})
    (row,) = list(csv.DictReader(io.StringIO(made.settlements_csv)))
    assert row["date"] == today.isoformat()
    home = text_of(await home_view(svc, "T0TEAM", "U0PAYER"))
    assert "INV-24-0101" in home


async def test_a_settlement_stored_in_year_9999_before_breaks_no_app_home(
    harness: Harness,
) -> None:
    """A settlement an earlier version dated in year 9999 (it took the provider's word)
    has no day east of UTC: App Home still shows, dating it by its own day."""
    svc = harness.bot.app[SERVICES]
    payment = _opened_page(svc)
    harness.bot.app[SETTLEMENT].apply(
        svc.store.payment(payment.id),
        PaymentOutcome(status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True),
    )
    far = datetime.fromtimestamp(LAST_SECOND, UTC).isoformat(timespec="seconds")
    svc.store.db.execute("UPDATE settlements SET settled_at = ?", [far])
    svc.store.db.execute("UPDATE payments SET paid_at = ?", [far])
    home = text_of(await home_view(svc, "T0TEAM", "U0PAYER"))
    assert "INV-24-0101" in home and "went wrong" not in home
