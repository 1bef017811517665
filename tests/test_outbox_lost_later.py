"""A confirmation whose first call failed in doubt (a 5xx) and whose later retry was
posted with its answer lost is found, however long after the first call the retry was."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import SETTLEMENT_EVENT, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack

EARLIER = 600.0
"""Seconds since the first call: a Slack incident of ten minutes, retried with backoff."""


async def test_a_retry_posted_long_after_the_first_call_is_adopted_not_posted_again(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    slack, server = fake_slack
    store = Store(tmp_path / "db.sqlite")
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    store.enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, channel_gap=0.0)

        async def round_now() -> None:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()

        slack.fail_next["chat.postMessage"] = 1  # a 500: Slack may or may not have posted
        await round_now()
        assert not slack.posted_to("C0BILLING")
        # That first call was long ago: Slack stayed down for a while.
        store.db.execute("UPDATE outbox SET attempted_at = attempted_at - ?", [EARLIER])
        slack.lose_answer_next["chat.postMessage"] = 1  # posted now, answer lost
        await round_now()
        assert len(slack.posted_to("C0BILLING")) == 1
        await round_now()  # must find that post in the channel, not post again
    assert len(slack.posted_to("C0BILLING")) == 1, "the confirmation was posted twice"
    (row,) = store.outbox_items()
    assert row["sent_at"] is not None and row["adopted"]
    store.close()
