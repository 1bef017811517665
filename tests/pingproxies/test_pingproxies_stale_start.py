"""A saved-card charge whose start was cut short (its process killed while PingProxies had
the charge) stays CREATED until a poller round hands it over as unknown: on PostgreSQL only
once IN_FLIGHT_LIMIT has passed, and only at the start of a round. Until then, as after,
nobody may charge the invoice again: the first charge may have gone through."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from bot.checkout import CheckoutRefused
from bot.models import PaymentState
from bot.settlement import IN_FLIGHT_LIMIT
from bot.web import SERVICES
from plugins.pingproxies.sandbox import SandboxState
from tests.pingproxies.conftest import TEAM, pay_path
from tests.pingproxies.test_pingproxies_core import charge


async def test_a_charge_cut_short_long_ago_blocks_a_second_charge_until_it_is_handed_over(
    bot: TestServer, sandbox: SandboxState
) -> None:
    svc = bot.app[SERVICES]
    store = svc.store
    sandbox.hang_seconds = 5.0
    sandbox.inject("hang", path=pay_path("inv_sbx0101"))
    first = asyncio.ensure_future(charge(bot, "U0PAYER"))
    for _ in range(200):
        if sandbox.count("POST", pay_path("inv_sbx0101")) == 1:
            break
        await asyncio.sleep(0.01)
    first.cancel()  # its process dies with the charge sent (kill -9: nothing more runs)
    with pytest.raises(asyncio.CancelledError):
        await first
    (payment,) = store.payments_for_invoices(TEAM, "pingproxies", ["inv_sbx0101"])
    assert (
        payment.state is PaymentState.CREATED
        and payment.id not in svc.checkout.settlement.in_flight
    )
    # It began longer ago than any start takes; no poller round has handed it over yet.
    store.db.execute("UPDATE payments SET created_ts = created_ts - ?", [IN_FLIGHT_LIMIT + 30])
    earlier = (payment.created_at - timedelta(seconds=IN_FLIGHT_LIMIT + 30)).isoformat()
    store.db.execute("UPDATE payments SET created_at = ?", [earlier])
    with pytest.raises(CheckoutRefused) as refused:
        await charge(bot, "U0OTHER")
    assert "Do not pay again" in str(refused.value)
    assert sandbox.count("POST", pay_path("inv_sbx0101")) == 1, "the card was charged twice"
