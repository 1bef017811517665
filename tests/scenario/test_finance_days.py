"""A finance team's days: "overdue" is one fact, whichever surface says it.

The digest and the reminders count days in `INVOICEBOT_TIMEZONE`; the list, App Home
and the pay menu must count them in the same zone, or one invoice is "overdue" in the
billing channel's digest and "due today" in `/invoices` (or the other way round).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from bot.models import Money, OutcomeStatus, Payment, PaymentOutcome, PaymentState
from bot.pages import SETTLEMENT
from bot.records import Range, export
from bot.slack.home import home_view
from bot.web import SCHEDULER, SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, pay_in_browser, text_of


def _zone_apart() -> str:
    """A zone whose date differs from UTC's right now: UTC+14 in the UTC afternoon,
    UTC-12 in the UTC morning (like Auckland, or Los Angeles, at the right hours)."""
    return "Etc/GMT-14" if datetime.now(UTC).hour >= 10 else "Etc/GMT+12"


ZONE = _zone_apart()


@pytest.fixture
def schedules() -> dict[str, Any]:
    return {"digest": "off", "timezone": ZONE, "due_reminder_days": 0}


def _due_on(sandbox: TestServer, number: str, day: date) -> None:
    state = sandbox.app[SANDBOX]
    noon = int(datetime.combine(day, time(12), tzinfo=UTC).timestamp())
    for key, item in list(state.invoices.items()):
        if item.invoiceNumber == number:
            state.invoices[key] = item.model_copy(update={"dueDate": noon})


async def test_the_list_and_the_digest_agree_on_what_is_overdue(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    local_today = datetime.now(ZoneInfo(ZONE)).date()
    utc_today = datetime.now(UTC).date()
    assert local_today != utc_today
    due = min(local_today, utc_today)
    _due_on(i3d_sandbox, "INV-24-0101", due)
    overdue_in_zone = due < local_today

    scheduler = harness.bot.app[SCHEDULER]
    await scheduler._digest("T0TEAM", local_today.isoformat())
    (digest,) = await harness.wait_for(
        lambda: [m for m in harness.slack.posted_to("C0BILLING") if "Invoice digest" in m["text"]]
    )
    digest_line = next(
        b["text"]["text"] for b in digest["blocks"] if "INV-24-0101" in str(b.get("text"))
    )
    assert ("overdue" in digest_line) is overdue_in_zone, digest_line

    _, screen, _ = await harness.command("")
    listed = text_of((await harness.screen_after(screen)).message)
    list_line = listed[listed.index("INV-24-0101") :].split("\n")[2]
    assert ("overdue" in list_line) is overdue_in_zone, (list_line, digest_line)


async def test_app_home_dates_a_settlement_on_the_day_the_export_does(
    harness: Harness,
) -> None:
    """A payment settled now is on the workspace's today in the export's `date` column;
    App Home's "Recent settlements" must not put it on another day."""
    svc = harness.bot.app[SERVICES]
    settlement = harness.bot.app[SETTLEMENT]
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
    now = datetime.now(UTC).replace(microsecond=0)
    settlement.apply(
        svc.store.payment(payment.id),
        PaymentOutcome(
            status=OutcomeStatus.PAID, message="ok", reference="r1", attributed=True, paid_at=now
        ),
    )
    zone = ZoneInfo(ZONE)
    local_today = now.astimezone(zone).date()
    made = export(svc.store, "T0TEAM", Range(local_today, local_today), zone, {})
    (row,) = list(csv.DictReader(io.StringIO(made.settlements_csv)))
    assert row["date"] == local_today.isoformat()
    home = text_of(await home_view(svc, "T0TEAM", "U0PAYER"))
    (line,) = [part for part in home.split("\n") if "INV-24-0101" in part and "paid by" in part]
    assert line.startswith(row["date"]), (line, row["date"])


async def test_the_paid_list_dates_a_payment_in_the_workspaces_zone(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    state = i3d_sandbox.app[SANDBOX]
    (paid,) = [i for i in state.invoices.values() if i.invoiceNumber == "INV-24-0055"]
    local_day = datetime.fromtimestamp(paid.paymentDate, ZoneInfo(ZONE)).date()
    assert local_day != datetime.fromtimestamp(paid.paymentDate, UTC).date()
    _, screen, _ = await harness.command("paid")
    listed = text_of((await harness.screen_after(screen)).message)
    line = listed[listed.index("INV-24-0055") :].split("\n")[2]
    assert f"paid {local_day.isoformat()}" in line, line


async def test_pay_on_an_invoice_open_again_names_the_day_it_was_paid_as_the_list_does(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Paid here days ago, late in the UTC day or early in it, and listed open again:
    the list, Pay, and Get link on a menu kept open name the same day it was paid, the
    workspace's, not UTC's."""
    from datetime import timedelta

    from tests.scenario.test_paying import choose, get_link, open_menu

    h = harness
    stale = await open_menu(h, "410001")
    stale = await choose(h, stale, "choose_method", "10")
    stale = await choose(h, stale, "choose_issuer", "INGBNL2A")
    _, pay_url = await get_link(h, "410001")
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    store = h.bot.app[SERVICES].store
    # 11:00 UTC: 01:00 the next day at UTC+14, 23:00 the day before at UTC-12.
    paid = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(11), tzinfo=UTC)
    local = paid.astimezone(ZoneInfo(ZONE)).date()
    assert local != paid.date()
    store.db.execute("UPDATE settlements SET settled_at = ?", [paid.isoformat()])
    store.db.execute("UPDATE payments SET paid_at = ? WHERE state = 'paid'", [paid.isoformat()])
    store._settled.clear()
    state = i3d_sandbox.app[SANDBOX]
    state.invoices["410001"] = state.invoices["410001"].model_copy(
        update={
            "paymentStatus": 0,
            "paymentDate": 0,
            "remainingAmount": "9680",
            "totalPaidAmount": "0",
        }
    )
    _, screen, _ = await h.command("")
    listed = await h.screen_after(screen)
    key = await h.click(listed, "pay", pick=lambda e: "|410001" in e["value"])
    clicked = text_of(await h.next_response(key))
    key = await h.click(stale, "get_link")
    refused = text_of(await h.next_response(key))
    for said in (text_of(listed.message), clicked, refused):
        assert local.isoformat() in said and paid.date().isoformat() not in said, said
