"""A provider's send that fails in an unexpected way once the call is made (a plugin's
own fault reading the answer) may have e-mailed the invoice all the same: the attempt is
not known, and watched, so the customer's payment is still confirmed; never failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import OutcomeUnknown
from bot.models import PaymentState
from bot.web import OUTBOX, POLLER, SERVICES
from plugins.payfirma.sandbox import SandboxState
from tests.fake_slack import FakeSlack
from tests.payfirma.test_payfirma_core import TEAM, bot

__all__ = ["bot"]


async def test_a_send_whose_answer_could_not_be_read_is_watched_not_failed(
    bot: TestServer, sandbox: SandboxState, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, _ = fake_slack
    svc = bot.app[SERVICES]
    provider = svc.connections.get(TEAM, "payfirma")
    sent = provider.send_invoice

    async def sent_then_broke(*args: Any, **kwargs: Any) -> str:
        await sent(*args, **kwargs)
        raise KeyError("email_address")

    provider.send_invoice = sent_then_broke  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknown, match="may have been sent"):
        await svc.checkout.send_by_email(
            team_id=TEAM, user_id="U0PAYER", provider="payfirma", invoice_id="212948", to=None
        )
    assert len(sandbox.emails) == 1
    (emailed,) = svc.store.payments_for_invoices(TEAM, "payfirma", ["212948"])
    assert emailed.state is PaymentState.UNKNOWN and emailed.next_check_at is not None
    item = sandbox.invoices[212948]
    sandbox.invoices[212948] = item.model_copy(update={"status": "PAID"})  # the customer paid
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
    assert "212948" in str(posted)
