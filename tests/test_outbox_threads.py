"""A reply queued for the thread of a post that is queued too waits for that post, and
goes in its thread with the ts the post was given, however late that came."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import ALONE, THREAD_OF, OutboxSender, reposted
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


async def test_a_reply_in_doubt_is_found_in_its_thread_or_sent_when_that_cannot_be_read(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A reply whose answer was lost is looked for in its thread and adopted. When Slack
    says the thread is not found (its root deleted), no lookup can ever be made there:
    the reply goes ahead instead of waiting for ever."""
    slack, server = fake_slack
    slack.post_burst = 4  # rounds a second apart in Slack's time, run at once here
    store = Store(tmp_path / "db.sqlite")
    store.enqueue("chat.postMessage", {"channel": "C0BILLING", "text": "asks"}, key="root")
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, channel_gap=0.0)

        async def round_now() -> None:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()

        await round_now()  # the root
        for key in ("unread", "found"):
            args = {"channel": "C0BILLING", "text": key, THREAD_OF: "root"}
            store.enqueue("chat.postMessage", args, key=key)
        slack.lose_answer_next["chat.postMessage"] = 2  # both replies: posted, answer lost
        await round_now()
        assert len(slack.posted_to("C0BILLING")) == 3
        slack.history_errors = ["thread_not_found"]  # the first lookup, "unread"'s
        await round_now()
    assert [call.method for call in slack.reads] == ["conversations.replies"] * 2
    rows = {row["key"]: row for row in store.outbox_items()}
    assert rows["found"]["adopted"] and rows["found"]["sent_at"] is not None
    assert rows["unread"]["sent_at"] is not None and not rows["unread"]["adopted"]
    assert len(slack.posted_to("C0BILLING")) == 4
    store.close()


async def test_a_reply_waits_for_its_roots_next_try_not_every_second(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """A root Slack keeps refusing for now is tried less and less often, for as long as
    that lasts: its reply is looked at again when the root is, not every round."""
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
        sender = OutboxSender(store, client, http, channel_gap=0.0, max_delay=300.0)
        store.db.execute("UPDATE outbox SET attempts = 8 WHERE key = 'root'")  # 256 s next
        slack.fail_next["chat.postMessage"] = 1
        await sender.send_due()
    root, reply = store.outbox_items()
    assert root["next_attempt_at"] > time.time() + 200
    assert reply["next_attempt_at"] >= root["next_attempt_at"]
    assert reply["attempts"] == 0 and not slack.posted_to("C0BILLING")
    store.close()


async def test_a_reply_whose_roots_channel_refused_it_goes_alone_to_the_billing_channel_now(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The root was refused for good by its channel (invoicebot is not in it): there is no
    thread, and that channel refuses the replies too. Each reply goes, worded to stand
    alone, to the billing channel chosen since; with none chosen since, to its own
    channel, where it is refused once (logged), not retried."""
    slack, server = fake_slack
    slack.outside.add("C0OLD")
    billing = {"T0TEAM": "C0OLD"}
    store = Store(tmp_path / "db.sqlite")
    store.enqueue("chat.postMessage", {"channel": "C0OLD", "text": "asks"}, key="root")

    def reply(key: str) -> None:
        args = {"channel": "C0OLD", "text": "approved", THREAD_OF: "root", ALONE: f"{key} alone"}
        store.enqueue("chat.postMessage", args, key=key, team_id="T0TEAM")

    reply("early")
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, channel_gap=0.0, billing=billing.get)

        async def round_now() -> None:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()

        await round_now()  # the root refused; "early" refused in the old channel alone
        billing["T0TEAM"] = "C0NEW"
        reply("late")
        await round_now()
    rows = {row["key"]: row for row in store.outbox_items()}
    assert rows["root"]["last_error"] == "not_in_channel"
    assert rows["early"]["gave_up_at"] is not None and rows["early"]["attempts"] <= 1
    (moved,) = slack.posted_to("C0NEW")
    assert moved["text"] == "late alone" and "thread_ts" not in moved
    assert ALONE not in moved and THREAD_OF not in moved
    store.close()


async def test_a_reply_goes_in_the_thread_of_its_root_posted_again_to_the_billing_channel_now(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    """The root its channel refused was posted again to the billing channel chosen since
    (`reposted`): a reply waits for that post and goes in its thread, not alone."""
    slack, server = fake_slack
    slack.outside.add("C0OLD")
    store = Store(tmp_path / "db.sqlite")
    store.enqueue("chat.postMessage", {"channel": "C0OLD", "text": "asks"}, key="root")
    args = {"channel": "C0OLD", "text": "approved", THREAD_OF: "root", ALONE: "alone"}
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sender = OutboxSender(store, client, http, channel_gap=0.0, billing=lambda _: "C0NEW")

        async def round_now() -> None:
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await sender.send_due()

        await round_now()  # the root refused
        store.enqueue(
            "chat.postMessage", {"channel": "C0NEW", "text": "asks"}, key=reposted("root", "C0NEW")
        )
        slack.rate_limit_next["chat.postMessage"] = 1  # the post again, held back once
        store.enqueue("chat.postMessage", args, key="reply", team_id="T0TEAM")
        await round_now()
        assert slack.posted_to("C0NEW") == [], "the reply waits for the post it replies to"
        await round_now()
        await round_now()
    root, reply = slack.posted_to("C0NEW")
    assert root["text"] == "asks" and reply["text"] == "approved"
    (call,) = [c for c in slack.called("chat.postMessage") if c.args is root]
    assert reply["thread_ts"] == slack.ts_of[id(call)]
    store.close()
