"""An approver's DM ends on what became of the request: an earlier rewrite that Slack
answered with an error and that is retried after the paid one was queued is dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import CredentialBox, generate_key
from bot.outbox import OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


async def test_a_retried_expiry_is_not_sent_after_the_paid_that_replaced_it(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """An approval that ran out while its payment was under way, then paid: the
    expiry's rewrite met a 500, and its retry must not undo the DM's "paid"."""
    slack, slack_server = fake_slack
    store = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(slack_server.make_url("/api/")), retry_handlers=[]
        )
        posted = await client.chat_postMessage(channel="D0FIN", text="Approve?")
        dm = {"channel": "D0FIN", "ts": posted["ts"]}
        sender = OutboxSender(store, client, http, first_delay=0.2)
        store.enqueue("chat.update", {**dm, "text": "expired"}, key="approval:R1:U0FIN:expired:1")
        slack.fail_next["chat.update"] = 1
        await sender.send_due()  # Slack answers 500: retried later
        store.enqueue("chat.update", {**dm, "text": "paid"}, key="approval-paid:R1:U0FIN")
        await sender.send_due()
        await asyncio.sleep(0.5)
        await sender.send_due()  # the expiry's retry is due now
    updates = [call.args["text"] for call in slack.called("chat.update")]
    assert updates[-1] == "paid", updates
    store.close()
