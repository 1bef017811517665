"""Two senders on one database post a confirmation once: a row is claimed before the call."""

from __future__ import annotations

import asyncio
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
