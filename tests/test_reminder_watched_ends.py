"""Reminders after a look at the payment page that ended without money (a watched end)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any, cast

from bot.models import Invoice, InvoiceStatus, Money, OutcomeStatus, PaymentOutcome
from bot.payments import CUSTOMER_LINK_LIFETIME
from bot.reminding import Reminded, remind_customer
from bot.runs import Runs
from bot.settlement import Settlement
from tests.test_finance_records import Collecting
from tests.test_settlement import S, attempt, recorder, settlement, store  # noqa: F401


async def test_a_customer_who_cancelled_on_the_page_is_still_reminded(
    settlement: Settlement,  # noqa: F811
) -> None:
    """The customer opened the week-long link, pressed Cancel at the provider's page (the
    browser said so, the provider did not): the end is watched until the link expires
    and a day more. Nothing is being paid; a reminder must not wait eight days."""
    link = attempt(settlement, S.OPENED, opened_minutes_ago=60, invoices=("1001",))
    settlement.store.update_payment(link.id, direction="receivable", provider="payfirma")
    settlement.store.db.execute(
        "UPDATE payments SET token_expires_at = ? WHERE id = ?",
        [time.time() + CUSTOMER_LINK_LIFETIME, link.id],
    )
    settlement.apply(
        settlement.store.payment(link.id) or link,
        PaymentOutcome(status=OutcomeStatus.CANCELLED, message="cancelled", attributed=False),
    )
    ended = settlement.store.payment(link.id)
    assert ended is not None and ended.state is S.CANCELLED and ended.next_check_at is not None
    provider = Collecting()
    invoice = Invoice(
        provider="payfirma",
        id="1001",
        number="INV-1001",
        amount_due=Money.of("12.50", "EUR"),
        total_incl_vat=Money.of("12.50", "EUR"),
        due=date(2026, 11, 1),
        status=InvoiceStatus.OPEN,
    )
    done = await remind_customer(
        settlement.store,
        Runs(settlement.store),
        cast(Any, provider),
        invoice,
        team_id="T1",
        today=date(2026, 12, 4),
        user_id="U1",
    )
    assert isinstance(done, Reminded), done
