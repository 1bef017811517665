"""A customer's link whose start a stop cut short, while Payfirma made its page: the
clicker was told "the answer comes below as soon as it is there", and after the restart
hears that no link was made, once, and nothing else."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.web import POLLER, SERVICES
from plugins.payfirma.api import HPP_INIT
from plugins.payfirma.sandbox import SandboxState
from tests.payfirma.test_payfirma_core import bot, copy_link

__all__ = ["bot"]


async def test_a_customer_link_cut_short_tells_its_clicker_that_none_was_made(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    sandbox.hang_seconds = 30
    sandbox.inject("hang", path=HPP_INIT)
    start = asyncio.ensure_future(copy_link(bot, "U0PAYER"))
    for _ in range(500):  # until Payfirma is making the page
        if sandbox.count("POST", HPP_INIT):
            break
        await asyncio.sleep(0.02)
    assert svc.store.db.execute("SELECT 1 FROM payments").fetchall()
    start.cancel()  # what kill -9 leaves: the recorded start, never answered
    sandbox.clear_faults()
    svc.checkout.settlement.in_flight.clear()

    svc.checkout.settlement.reconcile_interrupted(started_before=time.time() + 1)
    for _ in range(3):
        await bot.app[POLLER].run_once()
    (row,) = svc.store.db.execute("SELECT id FROM payments").fetchall()
    payment = svc.store.payment(row[0])
    assert payment is not None and payment.state not in (PaymentState.CREATED, PaymentState.PAID)
    told = [
        json.loads(row["args"])
        for row in svc.store.outbox_items()
        if row["method"] == "chat.postMessage"
    ]
    assert [args["channel"] for args in told] == ["U0PAYER"], told
    assert "no link was made" in told[0]["text"]
