"""A confirmation #billing refuses goes to the admins; when Slack cannot say for a moment
who is in the admins' user group, it waits for that, rather than going to the payer alone
(the admins would never hear of it)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from bot.outbox import INSTEAD, to_admins
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import OUTBOX, SERVICES, create_app
from tests.fake_slack import FakeSlack

RECORD = {"text": "Paid: INV-1", "blocks": []}


@pytest.mark.parametrize("settings", [{"admin_group": "S0ADMINS"}], indirect=True)
@pytest.mark.parametrize(
    "stumble",
    [
        {"rate_limit_next": 3},  # rate-limited past the client's own two quick retries
        {"fail_next": 1},  # a 500 with a plain-text body
    ],
)
async def test_a_refused_confirmation_waits_for_the_admins_group_to_be_read(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer], stumble: dict[str, int]
) -> None:
    slack, _ = fake_slack
    slack.user_groups["S0ADMINS"] = ["U0ADMIN"]
    slack.hidden.add("C0BILLING")  # the channel is gone: channel_not_found
    app = create_app(settings, make_plugin_manager(entry_point_plugins=False))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    for task in asyncio.all_tasks():
        if task.get_name() == "outbox sender":
            task.cancel()  # this test sends the rounds itself, one at a time
    try:
        store = app[SERVICES].store
        args = {"channel": "C0BILLING", "text": "Paid: INV-1", INSTEAD: to_admins("U0PAYER")}
        store.enqueue("chat.postMessage", args, key="confirmation:s1", team_id="T0TEAM")
        for knob, count in stumble.items():  # Slack cannot list the group just now
            getattr(slack, knob)["usergroups.users.list"] = count
        for _ in range(3):
            await asyncio.sleep(1.1)  # the channel's turn (one post a second) has come
            store.db.execute("UPDATE outbox SET next_attempt_at = 0, claimed_until = NULL")
            await app[OUTBOX].send_due()
    finally:
        await server.close()
    assert len(slack.posted_to("U0ADMIN")) == 1, "the admins never heard of the payment"
    assert slack.posted_to("U0PAYER") == []
