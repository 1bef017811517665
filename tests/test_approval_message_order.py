"""An approver's DM ends on what became of the request: an earlier rewrite that Slack
answered with an error and that is retried after the paid one was queued is dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import CredentialBox, generate_key
from bot.outbox import OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        # An approval that ran out while its payment was under way, then paid: the
        # expiry's retry must not undo the DM's "paid".
        (("expired", "approval:R1:U0FIN:expired:1"), ("paid", "approval-paid:R1:U0FIN")),
        # The first of two approvals, then the second approved the request: the retried
        # "1 of 2, Approve?" must not undo "approved".
        (("1 of 2", "approval:R1:U0FIN:pending:1"), ("approved", "approval:R1:U0FIN:approved:2")),
    ],
    ids=["expiry-then-paid", "count-then-decision"],
)
async def test_a_retried_rewrite_is_not_sent_after_the_one_that_followed_it(
    tmp_path: Path,
    fake_slack: tuple[FakeSlack, TestServer],
    earlier: tuple[str, str],
    later: tuple[str, str],
) -> None:
    """The earlier rewrite met a 500 when it went out; the later one was queued and
    sent; the earlier one's retry comes due after it and must not be sent."""
    slack, slack_server = fake_slack
    store = Store(tmp_path / "db.sqlite", CredentialBox(generate_key()))
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(slack_server.make_url("/api/")), retry_handlers=[]
        )
        posted = await client.chat_postMessage(channel="D0FIN", text="Approve?")
        dm = {"channel": "D0FIN", "ts": posted["ts"]}
        sender = OutboxSender(store, client, http, first_delay=0.2)
        store.enqueue("chat.update", {**dm, "text": earlier[0]}, key=earlier[1])
        slack.fail_next["chat.update"] = 1
        await sender.send_due()  # Slack answers 500: retried later
        store.enqueue("chat.update", {**dm, "text": later[0]}, key=later[1])
        await sender.send_due()
        await asyncio.sleep(0.5)
        await sender.send_due()  # the earlier one's retry is due now
    updates = [call.args["text"] for call in slack.called("chat.update")]
    assert updates[-1] == later[0], updates
    store.close()


async def test_a_decision_waits_for_an_earlier_rewrite_another_process_is_sending(
    postgres_url: str, aiohttp_server: Any
) -> None:
    """Two approvals a moment apart, their rewrites of one approver's DM taken by two
    processes' senders: the second is not sent while the first is on its way, or Slack
    could take the first last and show "1 of 2, Approve?" on an approved request."""
    shown: list[str] = []

    async def update(request: web.Request) -> web.Response:
        args = await request.json()
        if args["text"] == "1 of 2":
            await asyncio.sleep(0.5)  # a slow answer: Slack takes it late
        shown.append(args["text"])
        return web.json_response({"ok": True, "channel": args["channel"], "ts": args["ts"]})

    app = web.Application()
    app.router.add_post("/api/chat.update", update)
    server = await aiohttp_server(app)
    first, second = Store(postgres_url), Store(postgres_url)
    dm = {"channel": "D0FIN", "ts": "1.000001"}
    first.enqueue("chat.update", {**dm, "text": "1 of 2"}, key="approval:R1:U0FIN:pending:1")
    async with aiohttp.ClientSession() as http:

        def sender(store: Store) -> OutboxSender:
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            return OutboxSender(store, client, http)

        slow = asyncio.create_task(sender(first).send_due())
        await asyncio.sleep(0.1)  # its call is under way
        second.enqueue(
            "chat.update", {**dm, "text": "approved"}, key="approval:R1:U0FIN:approved:2"
        )
        await sender(second).send_due()
        await slow
        for _ in range(100):
            if first.outbox_pending() == 0:
                break
            await asyncio.gather(sender(first).send_due(), sender(second).send_due())
            await asyncio.sleep(0.05)
    first.close()
    second.close()
    assert shown[-1] == "approved", shown
