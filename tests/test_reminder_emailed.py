"""A lost answer to "Send by e-mail" must not stop reminders for three months."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from bot.models import Emailed, Invoice, InvoiceStatus, Money
from bot.reminding import Reminded, remind_customer
from bot.runs import Runs
from bot.settlement import Settlement
from tests.test_finance_records import Collecting
from tests.test_settlement import S, attempt, recorder, settlement, store  # noqa: F401


async def test_an_e_mail_whose_answer_was_lost_does_not_stop_reminders(
    settlement: Settlement,  # noqa: F811
) -> None:
    """`Send by e-mail` timed out: the attempt is UNKNOWN (the e-mail may have gone) and
    is watched for the link's week plus `EMAILED_WATCH` (90 days). No money is being
    taken through invoicebot; an e-mailed invoice the provider confirmed sending
    (LINK_ISSUED) does not stop reminders either."""
    sent = attempt(settlement, S.UNKNOWN, start=Emailed(to="ap@acme.example"))
    settlement.store.update_payment(sent.id, direction="receivable", provider="payfirma")
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
    assert provider.sent == ["1001"]
