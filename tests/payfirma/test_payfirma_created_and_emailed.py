"""An invoice created in Slack and e-mailed by Payfirma as it is created is watched like
one sent with **Send by e-mail**: when the customer pays it, #billing hears, once."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock

import pytest
from aiohttp.test_utils import TestServer

from bot.models import Emailed, PaymentState
from bot.slack.new_invoice import on_review, review_view
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.provider import PayfirmaProvider
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import TEAM, bot
from tests.payfirma.test_payfirma_issuing import draft, line

__all__ = ["bot"]

pytestmark = pytest.mark.parametrize("settings", [{"payers": "U0PAYER"}], indirect=True)


async def create_in_slack(bot: TestServer, *, send: bool) -> Any:
    made = draft(line("Shelving", "3", "3.00"), customer_email="ap@riverside.example")
    view = {**review_view(PayfirmaProvider, made, send), "id": f"V0REVIEW{int(send)}"}
    body = {"view": view, "team": {"id": TEAM}, "user": {"id": "U0PAYER"}}
    ack = AsyncMock()
    await on_review(bot.app[SERVICES], ack, body, AsyncMock())


async def settle(bot: TestServer, slack: FakeSlack) -> list[dict[str, Any]]:
    for _ in range(30):
        await bot.app[POLLER].run_once()
        await bot.app[OUTBOX].send_due()
        paid = [m for m in slack.posted_to("C0BILLING") if "paid" in m["text"].lower()]
        if paid:
            return paid
        await asyncio.sleep(0.2)
    return []


async def test_an_invoice_created_and_emailed_is_confirmed_when_the_customer_pays_it(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    await create_in_slack(bot, send=True)
    (created,) = [
        i for i in sandbox.invoices.values() if i.recipient_email == "ap@riverside.example"
    ]
    assert created.status == "UNPAID" and sandbox.emails
    number = str(created.invoice_id)
    store = bot.app[SERVICES].store
    (watched,) = store.payments_for_invoices(TEAM, "payfirma", [number])
    assert watched.state is PaymentState.LINK_ISSUED and isinstance(watched.start, Emailed)
    assert watched.next_check_at is not None
    # The customer pays through the e-mail; Payfirma marks the invoice paid.
    sandbox.invoices[created.invoice_id] = created.model_copy(update={"status": "PAID"})
    store.update_payment(watched.id, next_check_at=0)
    (posted,) = await settle(bot, slack)
    assert number in str(posted) and "CA$9.00" in str(posted)
    paid = store.payment(watched.id)
    assert paid is not None and paid.state is PaymentState.PAID


async def test_an_invoice_saved_as_a_draft_is_not_watched_until_it_is_sent(
    bot: TestServer, sandbox: SandboxState
) -> None:
    await create_in_slack(bot, send=False)
    (created,) = [
        i for i in sandbox.invoices.values() if i.recipient_email == "ap@riverside.example"
    ]
    assert created.status == "DRAFT"
    store = bot.app[SERVICES].store
    assert store.payments_for_invoices(TEAM, "payfirma", [str(created.invoice_id)]) == []
