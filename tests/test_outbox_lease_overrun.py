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


@pytest.fixture
async def failing_slow_history() -> AsyncIterator[tuple[FakeSlack, TestServer]]:
    """The first history read is slow and then fails (a 500); posts take a while."""
    fake = FakeSlack()
    plain = fake.handle
    reads = [0]

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "conversations.history":
            reads[0] += 1
            if reads[0] == 1:
                await asyncio.sleep(1.6)  # past the lease, while another sender posts
                return web.Response(status=500, text="Internal Server Error")
        if method == "chat.postMessage":
            await asyncio.sleep(0.8)  # within the lease: recorded as it is answered
        return await plain(request)

    fake.handle = handle  # type: ignore[method-assign]
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, server
    finally:
        await server.close()


async def _in_doubt_among_three(
    stores: list[Store], server: TestServer, http: aiohttp.ClientSession, slack: FakeSlack
) -> tuple[OutboxSender, OutboxSender, OutboxSender]:
    """Three senders, one a process, and a marked confirmation whose first post got a 500
    (in doubt from then on: each sender looks for it before posting), due again now."""
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    stores[0].enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )

    def sender(store: Store) -> OutboxSender:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        return OutboxSender(store, client, http, lease=LEASE, channel_gap=0.0, first_delay=0.1)

    a, b, c = (sender(store) for store in stores)
    slack.fail_next["chat.postMessage"] = 1
    await a.send_due()
    stores[0].db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
    return a, b, c


async def _after(delay: float, who: OutboxSender) -> None:
    await asyncio.sleep(delay)
    await who.send_due()


async def test_a_sender_that_lost_its_row_while_looking_does_not_free_it_for_a_third(
    postgres_url: str, failing_slow_history: tuple[FakeSlack, TestServer]
) -> None:
    """A's look outlasts its hold and then fails; B has taken the row over meanwhile and
    is posting it. A must leave the row as B holds it: were B's hold cleared (due again
    at once), a third sender would take the row while B's post is still on its way,
    find nothing yet, and post the confirmation a second time."""
    slack, server = failing_slow_history
    stores = [Store(postgres_url) for _ in range(3)]
    async with aiohttp.ClientSession() as http:
        a, b, c = await _in_doubt_among_three(stores, server, http, slack)

        # A looks (slowly, then fails); B takes over at once after A's hold and posts;
        # C comes by while B's post is on its way.
        await asyncio.gather(a.send_due(), _after(LEASE + 0.2, b), _after(1.85, c))
        await asyncio.sleep(1.0)
    assert len(slack.posted_to("C0BILLING")) == 1, "the confirmation was posted twice"
    for store in stores:
        store.close()


async def test_a_sender_stopped_after_losing_its_row_does_not_free_it_for_a_third(
    postgres_url: str, failing_slow_history: tuple[FakeSlack, TestServer]
) -> None:
    """A's look outlasts its hold; B has taken the row over and is posting it; then A's
    process stops. A's stop must leave the row as B holds it: freed, a third sender
    would take it while B's post is on its way, find nothing yet, and post it again."""
    slack, server = failing_slow_history
    stores = [Store(postgres_url) for _ in range(3)]
    async with aiohttp.ClientSession() as http:
        a, b, c = await _in_doubt_among_three(stores, server, http, slack)

        looking = asyncio.ensure_future(a.send_due())

        async def stop_a() -> None:
            await asyncio.sleep(1.45)  # B is posting; A is still looking
            looking.cancel()

        await asyncio.gather(_after(LEASE + 0.2, b), stop_a(), _after(1.55, c))
        with pytest.raises(asyncio.CancelledError):
            await looking
        await asyncio.sleep(1.0)
    assert len(slack.posted_to("C0BILLING")) == 1, "the confirmation was posted twice"
    for store in stores:
        store.close()
