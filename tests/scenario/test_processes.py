"""Several bot processes on one PostgreSQL: each job is done by one of them.

Both processes run their poller and outbox sender; a payment whose payer never comes
back to the landing page is noticed by whichever poller takes it first, settled once,
and confirmed in the billing channel once.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.web import OUTBOX, POLLER, STORE
from tests.scenario.conftest import BotFactory, free_port
from tests.scenario.harness import Harness, pay_in_browser
from tests.scenario.test_settling_once import browser, link_for


@pytest.fixture
def database(postgres_url: str) -> str:
    """PostgreSQL only: a sqlite file is served by one process."""
    return postgres_url


async def test_two_processes_polling_one_database_confirm_a_payment_once(
    harness: Harness, start_bot: BotFactory
) -> None:
    h = harness
    other = await start_bot(port=free_port())
    _, link = await link_for(h)
    async with browser() as payer:
        await pay_in_browser(payer, link, come_back=False)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"), within=15)
    for _ in range(3):
        for bot in (h.bot, other):
            await bot.app[POLLER].run_once()
            await bot.app[OUTBOX].send_due()
        await asyncio.sleep(0.3)
    assert len(h.slack.posted_to("C0BILLING")) == 1
    assert len(other.app[STORE].settlements()) == 1
    sent = [row for row in other.app[STORE].outbox_items() if row["sent_at"] is not None]
    assert len({row["key"] for row in sent}) == len(sent)
