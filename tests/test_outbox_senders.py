"""Senders on one database: a confirmation is posted once (a row is claimed before the
call), and processes sharing PostgreSQL post to a channel at most once a second."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import SETTLEMENT_EVENT, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


async def test_two_senders_racing_for_one_row_post_it_once(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, server = fake_slack
    path = tmp_path / "db.sqlite"
    first, second = Store(path), Store(path)
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    first.enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )
    async with aiohttp.ClientSession() as http:

        def sender(store: Store) -> OutboxSender:
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            return OutboxSender(store, client, http)

        sent = await asyncio.gather(sender(first).send_due(), sender(second).send_due())
    assert sorted(sent) == [0, 1]
    assert len(slack.posted_to("C0BILLING")) == 1
    first.close()
    second.close()


async def test_two_senders_on_postgresql_post_to_one_channel_a_second_apart(
    postgres_url: str, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """Slack takes one message a second per channel: processes sharing the database take
    turns, whichever holds each row."""
    slack, server = fake_slack
    first, second = Store(postgres_url), Store(postgres_url)
    for n in range(4):
        first.enqueue("chat.postMessage", {"channel": "C0BILLING", "text": f"n{n}"}, key=f"k{n}")
    sent = [0, 0]
    async with aiohttp.ClientSession() as http:

        def sender(store: Store) -> OutboxSender:
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            return OutboxSender(store, client, http)

        senders = [sender(first), sender(second)]
        for _ in range(100):
            if first.outbox_pending() == 0:
                break
            done = await asyncio.gather(*(s.send_due() for s in senders))
            sent = [a + b for a, b in zip(sent, done, strict=True)]
            await asyncio.sleep(0.05)
    times = sorted(call.at for call in slack.called("chat.postMessage"))
    assert len(times) == 4 and first.outbox_pending() == 0
    assert all(sent), sent  # both processes posted
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0
    first.close()
    second.close()
