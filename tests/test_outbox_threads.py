"""A reply queued for the thread of a post that is queued too waits for that post, and
goes in its thread with the ts the post was given, however late that came."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import THREAD_OF, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


async def test_a_reply_waits_for_its_root_and_goes_in_its_thread(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, server = fake_slack
    store = Store(tmp_path / "db.sqlite")
    store.enqueue("chat.postMessage", {"channel": "C0BILLING", "text": "asks"}, key="root")
    store.enqueue(
        "chat.postMessage",
        {"channel": "C0BILLING", "text": "approved", THREAD_OF: "root"},
        key="reply",
    )
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, channel_gap=0.0)

        async def round_now() -> None:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()

        slack.fail_next["chat.postMessage"] = 1  # the root: Slack may or may not have posted
        await round_now()
        assert not slack.posted_to("C0BILLING"), "the reply went without its thread"
        await round_now()
        await round_now()
    root, reply = slack.posted_to("C0BILLING")
    assert root["text"] == "asks" and THREAD_OF not in reply
    assert reply["thread_ts"] == store.outbox_ts("root") and slack.orphaned == []
    assert [row["attempts"] for row in store.outbox_items()] == [1, 0]
    store.close()
