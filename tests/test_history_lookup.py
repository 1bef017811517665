"""The search for a post whose answer was lost, under the history limit Slack sets for
apps outside its Marketplace: one conversations.history call a minute, 15 messages each
(docs.slack.dev/apis/web-api/rate-limits; reference/slack.md §4 and §9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import SETTLEMENT_EVENT, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


async def test_a_search_cut_short_by_the_history_limit_goes_on_where_it_stopped(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A confirmation Slack posted but whose answer was lost, followed in #billing by
    more than a page of other posts (a backlog draining at one a second): the second
    page is asked for within the minute and refused. The next minute's search must go on
    from the second page, not begin again with the first (and be refused at the second
    again, for ever): the confirmation is found and adopted, and posted once."""
    slack, server = fake_slack
    store = Store(tmp_path / "db.sqlite")
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    store.enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )
    slack.lose_answer_next["chat.postMessage"] = 1
    slack.post_burst = 21  # the backlog Slack took at one a second, posted at once here
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http)
        assert await sender.send_due() == 0  # posted, but the answer never came
        for n in range(20):  # the channel's next posts, newer than the lost one
            await client.chat_postMessage(channel="C0BILLING", text=f"other {n}")
        for _ in range(4):  # a minute passes between rounds: one history call each
            slack.history_calls_left = 1
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()
    (row,) = [r for r in store.outbox_items() if r["key"] == "k"]
    assert row["sent_at"] and row["adopted"] == 1
    assert len([p for p in slack.posted_to("C0BILLING") if p.get("metadata")]) == 1
    store.close()


async def test_a_kept_cursor_slack_no_longer_takes_is_dropped_not_sent_for_ever(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The page a search stopped at is kept only for a search Slack rate-limited: a
    cursor Slack refuses (`invalid_cursor`: no longer valid) is not asked with again and
    again, each round refused the same way while the confirmation waits for ever."""
    slack, server = fake_slack
    store = Store(tmp_path / "db.sqlite")
    marked = {"event_type": SETTLEMENT_EVENT, "event_payload": {"settlement_id": "s1"}}
    store.enqueue(
        "chat.postMessage", {"channel": "C0BILLING", "text": "paid", "metadata": marked}, key="k"
    )
    slack.lose_answer_next["chat.postMessage"] = 1
    slack.post_burst = 21  # the backlog Slack took at one a second, posted at once here
    refused: list[str] = []
    history = slack._history
    issued = [0]  # each search's cursors are its own: Slack's name when and where it began

    def stale(args: dict[str, Any]) -> Any:
        cursor = str(args.get("cursor") or "")
        if cursor:
            ts, _, search = cursor.partition("@")
            if search == "1":  # the first search's cursor, no longer valid
                refused.append(cursor)
                return web.json_response({"ok": False, "error": "invalid_cursor"})
            args = {**args, "cursor": ts}
        else:
            issued[0] += 1
        answer = history(args)
        body = json.loads(answer.body)
        if (body.get("response_metadata") or {}).get("next_cursor"):
            body["response_metadata"]["next_cursor"] += f"@{cursor.partition('@')[2] or issued[0]}"
        return web.json_response(body)

    slack._history = stale  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http)
        assert await sender.send_due() == 0  # posted, but the answer never came
        for n in range(20):  # a page and more of the channel's next posts
            await client.chat_postMessage(channel="C0BILLING", text=f"other {n}")
        slack.history_calls_left = 1  # the first page, then 429 at the second
        store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
        await sender.send_due()
        slack.history_calls_left = None  # the kept cursor is no longer valid from here on
        for _ in range(4):
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()
    (row,) = [r for r in store.outbox_items() if r["key"] == "k"]
    assert len(refused) <= 1, f"the refused cursor was sent {len(refused)} times"
    assert row["sent_at"] is not None, row["last_error"]
    assert len([p for p in slack.posted_to("C0BILLING") if p.get("metadata")]) == 1
    store.close()
