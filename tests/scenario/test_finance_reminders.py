"""Due-soon reminders about an invoice whose payment through invoicebot is under way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import Money, Payment, PaymentState
from bot.web import SCHEDULER, SERVICES, STORE
from tests.scenario.harness import Harness

S = PaymentState


@pytest.fixture
def schedules() -> dict[str, Any]:
    return {"digest": "off", "timezone": "UTC", "due_reminder_days": 3}


def due_dms(harness: Harness) -> list[dict[str, Any]]:
    return [m for m in harness.slack.posted_to("U0PAYER") if "falls due" in m["text"]]


@pytest.mark.parametrize("state", [S.UNKNOWN, S.OPENED])
async def test_no_due_soon_reminder_while_a_payment_of_it_may_be_taking_the_money(
    harness: Harness, state: PaymentState
) -> None:
    """A saved-card charge whose answer is not known yet (invoicebot tells its payer not
    to pay again), or a payment page being paid: a DM saying "falls due today" with
    **Pay** invites a second payment, at the provider's site if not here."""
    svc = harness.bot.app[SERVICES]
    payment, _ = svc.payments.record(
        Payment(
            team_id="T0TEAM",
            provider="i3d",
            invoice_ids=("410001",),
            invoice_numbers=("INV-24-0101",),
            amount=Money.of("121.00", "EUR"),
            method_id="7",
            method_name="Saved card",
            user_id="U0PAYER",
            charges_at_once=state is S.UNKNOWN,
        )
    )
    assert harness.bot.app[STORE].compare_and_set_state(payment.id, {S.CREATED}, state)
    due = (datetime.now(UTC) + timedelta(days=25)).date()  # INV-24-0101's due date
    await harness.bot.app[SCHEDULER]._daily("T0TEAM", due.isoformat())
    store = harness.bot.app[STORE]
    await harness.wait_for(lambda: store.outbox_pending() == 0)
    assert [m["text"] for m in due_dms(harness) if "INV-24-0101" in m["text"]] == []
