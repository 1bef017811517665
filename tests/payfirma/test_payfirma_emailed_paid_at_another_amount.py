"""An e-mailed invoice whose amount changed in PayHQ before the customer paid it: the
money that moved is what the invoice asked when it was paid, which only Payfirma's
invoice says. #billing's confirmation says so, not only the amount it was e-mailed at."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer

from bot.models import Money, PaymentState
from bot.records import Range, export
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import TEAM, bot, reprice

__all__ = ["bot"]


async def test_an_emailed_invoice_paid_at_another_amount_says_what_it_asked(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    emailed = await svc.checkout.send_by_email(
        team_id=TEAM,
        user_id="U0PAYER",
        provider="payfirma",
        invoice_id="212948",
        to=None,
        expected=Money.of("57.75", "CAD"),
    )
    reprice(sandbox, 212948, "151.00")  # a line added in PayHQ after it went out
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})
    svc.store.update_payment(emailed.id, next_check_at=0)
    for _ in range(30):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        if slack.posted_to("C0BILLING"):
            break
        await asyncio.sleep(0.1)
    paid = svc.store.payment(emailed.id)
    assert paid is not None and paid.state is PaymentState.PAID
    (posted,) = slack.posted_to("C0BILLING")
    said = str(posted)
    assert "CA$151.00" in said and "CA$57.75" in said, said
    # The bookkeeper's row says it too: its amount is the e-mailed one, its note what
    # Payfirma lists the invoice paid at.
    today = datetime.now(UTC).date()
    done = export(svc.store, TEAM, Range(today, today), ZoneInfo("UTC"), {})
    (row,) = list(csv.DictReader(io.StringIO(done.settlements_csv)))
    assert row["amount"] == "57.75"
    assert "paid at CA$151.00" in row["note"] and "check in PayHQ" in row["note"]
