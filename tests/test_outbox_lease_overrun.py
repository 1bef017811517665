"""Two senders on PostgreSQL: one whose look for an earlier post outlasts its hold on the
row must not post once another sender has taken the row over, or both post it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import SETTLEMENT_EVENT, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack

LEASE = 1.0
SLOW = 1.5
"""Seconds Slack takes to deliver a history page it read at once: longer than the lease."""


@pytest.fixture
async def slow_history() -> AsyncIterator[tuple[FakeSlack, TestServer]]:
    fake = FakeSlack()
    plain = fake.handle

    async def handle(request: web.Request) -> web.Response:
        answer = await plain(request)
        if request.match_info["method"] == "conversations.history":
            await asyncio.sleep(SLOW)  # read when asked, delivered late
        return answer

    fake.handle = handle  # type: ignore[method-assign]
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, server
    finally:
        await server.close()


async def test_a_sender_that_lost_its_row_while_looking_does_not_post_it(
    postgres_url: str, slow_history: tuple[FakeSlack, TestServer]
) -> None:
    slack, server = slow_history
    first, second = Store(postgres_url), Store(postgres_url)
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    first.enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )
    async with aiohttp.ClientSession() as http:

        def sender(store: Store) -> OutboxSender:
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            return OutboxSender(store, client, http, lease=LEASE, channel_gap=0.0)

        a, b = sender(first), sender(second)
        slack.fail_next["chat.postMessage"] = 1  # a 500: in doubt from here on
        await a.send_due()
        first.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")

        async def later() -> None:
            await asyncio.sleep(LEASE + 0.2)  # A's hold has run out, A is still looking
            await b.send_due()

        await asyncio.gather(a.send_due(), later())
        await asyncio.sleep(SLOW + 0.5)
    assert len(slack.posted_to("C0BILLING")) == 1, "both senders posted the confirmation"
    first.close()
    second.close()
