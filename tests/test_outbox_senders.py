"""Senders on one database: a confirmation is posted once (a row is claimed before the
call), and posts to a channel go at most once a second, from processes sharing
PostgreSQL and from the one process on sqlite."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import RESPONSE_URL, SETTLEMENT_EVENT, OutboxSender
from bot.store import Store
from slack_emulator import EMULATOR
from slack_emulator import create_app as create_emulator
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


async def test_one_process_on_sqlite_posts_to_a_channel_once_a_second_and_others_meanwhile(
    tmp_path: Path,
) -> None:
    """sqlite has one process, which keeps each channel's turn itself: a burst of
    confirmations to the billing channel goes out a second apart, in order, all of them,
    without Slack refusing one, while another channel's posts go out at once."""
    emulator_app = create_emulator(
        request_url="http://127.0.0.1:9/slack/events", signing_secret="s", bot_token=BOT_TOKEN
    )
    server = TestServer(emulator_app, host="127.0.0.1")
    await server.start_server()
    emulator = emulator_app[EMULATOR]
    store = Store(tmp_path / "db.sqlite")
    for n in range(4):
        marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": f"s{n}"}}
        args = {"channel": "C0BILLING", "text": f"paid {n}", "metadata": marked}
        store.enqueue("chat.postMessage", args, key=f"paid{n}")
    for n in range(2):
        store.enqueue("chat.postMessage", {"channel": "C0GENERAL", "text": f"g{n}"}, key=f"g{n}")
    started = time.time()
    try:
        async with aiohttp.ClientSession() as http:
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            sender = OutboxSender(store, client, http)
            running = asyncio.create_task(sender.run_forever())
            try:
                while store.outbox_pending():
                    assert time.time() - started < 15, "the outbox was not emptied"
                    await asyncio.sleep(0.05)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
    finally:
        await server.close()
        store.close()
    posts = emulator.calls_to("chat.postMessage")
    assert all(call.ok for call in posts), [call.error for call in posts]
    assert [m.text for m in emulator.messages("C0BILLING")] == [f"paid {n}" for n in range(4)]
    assert [m.text for m in emulator.messages("C0GENERAL")] == ["g0", "g1"]
    billing = [call.at for call in posts if call.args["channel"] == "C0BILLING"]
    general = [call.at for call in posts if call.args["channel"] == "C0GENERAL"]
    assert min(b - a for a, b in itertools.pairwise(billing)) >= 1.0
    assert general[0] - started < 0.5 and general[0] < billing[1]
    assert general[1] - general[0] >= 1.0 and general[1] < billing[-1]
    assert billing[-1] - billing[0] < 4.5  # a turn is taken when it comes, not a tick later


async def test_a_later_outcome_waits_for_an_earlier_one_another_process_is_sending(
    postgres_url: str, aiohttp_server: Any
) -> None:
    """A charge's payer is told it is not known yet, and a moment later that it is paid:
    two processes' senders take one row each. The later outcome is not shown while the
    earlier one is still on its way, or Slack would show "not known yet" last."""
    shown: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        if body["text"] == "not known yet":
            await asyncio.sleep(0.5)  # a slow answer: Slack takes it late
        shown.append(body["text"])
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    url = str(server.make_url("/hook"))
    first, second = Store(postgres_url), Store(postgres_url)

    def notice(text: str) -> dict[str, Any]:
        return {"url": url, "body": {"replace_original": True, "text": text}}

    first.enqueue(RESPONSE_URL, notice("not known yet"), key="in-doubt:p1")
    async with aiohttp.ClientSession() as http:

        def sender(store: Store) -> OutboxSender:
            return OutboxSender(store, AsyncWebClient(token=BOT_TOKEN, retry_handlers=[]), http)

        slow = asyncio.create_task(sender(first).send_due())
        await asyncio.sleep(0.1)  # its call is under way
        second.enqueue(RESPONSE_URL, notice("paid"), key="settled:p1")
        senders = [sender(first), sender(second)]
        await sender(second).send_due()
        await slow
        for _ in range(100):
            if first.outbox_pending() == 0:
                break
            await asyncio.gather(*(s.send_due() for s in senders))
            await asyncio.sleep(0.05)
    first.close()
    second.close()
    assert shown[-1] == "paid", shown
