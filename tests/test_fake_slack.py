"""The fake Slack refuses what Slack refuses, so a test cannot pass where Slack would not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import ACK_SECONDS, BOT_TOKEN, TRIGGER_SECONDS, FakeSlack
from tests.scenario.harness import Harness
from tests.slack_requests import interaction_body, slash_command_body


async def test_a_private_conversation_the_bot_is_not_in_takes_no_post(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, server = fake_slack
    slack.hidden.add("G0SECRET")
    client = AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="G0SECRET", text="Invoice INV-1 is paid")
    assert refused.value.response["error"] == "channel_not_found"
    assert slack.posted_to("G0SECRET") == []
    assert (await client.chat_postMessage(channel="C0BILLING", text="Invoice INV-1 is paid"))["ok"]


async def test_posts_to_one_channel_are_paced_as_slack_paces_them(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """Slack takes about one chat.postMessage a second per channel after a short burst
    (reference/slack.md §4) and answers the rest 429 with `Retry-After`, posting nothing;
    other channels keep their own pace."""
    slack, server = fake_slack
    client = AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))
    for n in range(3):
        assert (await client.chat_postMessage(channel="C0BILLING", text=f"paid {n}"))["ok"]
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0BILLING", text="paid 3")
    assert refused.value.response.status_code == 429
    assert refused.value.response["error"] == "ratelimited"
    assert int(refused.value.response.headers["Retry-After"]) >= 1
    assert len(slack.posted_to("C0BILLING")) == 3
    assert (await client.chat_postMessage(channel="C0GENERAL", text="a list"))["ok"]
    await asyncio.sleep(1.05)
    assert (await client.chat_postMessage(channel="C0BILLING", text="paid 3"))["ok"]


async def test_a_response_url_takes_five_uses_and_refuses_the_sixth(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """Slack's response_url is good for 5 uses within 30 minutes (reference/slack.md §2);
    a sixth is refused and marks the test, since the person never sees it."""
    slack, server = fake_slack
    url = server.make_url("/hooks/r1")
    async with aiohttp.ClientSession() as http:
        for n in range(5):
            async with http.post(url, json={"text": f"step {n}"}) as answer:
                assert answer.status == 200
        async with http.post(url, json={"text": "step 5"}) as answer:
            assert answer.status == 404 and (await answer.json())["error"] == "used_url"
    assert [body["text"] for body in slack.responses["r1"]] == [f"step {n}" for n in range(5)]
    assert slack.refused == [("response_url", ["used_url"])]


async def test_a_response_url_is_taken_for_30_minutes_only(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2: 5 uses within 30 minutes; after that Slack takes none."""
    slack, server = fake_slack
    now = [1000.0]
    slack.clock = lambda: now[0]
    url = server.make_url("/hooks/r1")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"text": "at once"}) as answer:
            assert answer.status == 200
        now[0] += 30 * 60 + 1
        async with http.post(url, json={"text": "too late"}) as answer:
            assert answer.status == 404 and (await answer.json())["error"] == "expired_url"
    assert [body["text"] for body in slack.responses["r1"]] == ["at once"]


def web_client(server: TestServer) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=str(server.make_url("/api/")))


def modal(title: str) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": title}}
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [section]}


async def error_of(call: Awaitable[Any]) -> str:
    with pytest.raises(SlackApiError) as refused:
        await call
    return str(refused.value.response["error"])


async def test_a_commands_response_url_posts_anew_and_deletes_nothing(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2: a slash command's response_url cannot replace or delete the
    command's own reply; `replace_original` there posts a new message. A click's URL may
    delete the clicked message with a body that is nothing but `delete_original`."""
    slack, server = fake_slack
    slack.command_hooks.add("r1")
    async with aiohttp.ClientSession() as http:
        replacing = {"text": "Open invoices", "replace_original": True}
        async with http.post(server.make_url("/hooks/r1"), json=replacing) as answer:
            assert answer.status == 200
        async with http.post(server.make_url("/hooks/r1"), json={"delete_original": True}) as gone:
            assert gone.status == 404 and (await gone.json())["error"] == "message_not_found"
        async with http.post(server.make_url("/hooks/r2"), json={"delete_original": True}) as gone:
            assert gone.status == 200
    assert slack.posted_anew == [("r1", replacing)]
    assert slack.refused == [("response_url", ["message_not_found"])]


async def test_a_trigger_id_opens_one_view_once_within_three_seconds(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2 (3-second rule): only a trigger_id Slack sent, once, for 3 s."""
    slack, server = fake_slack
    client = web_client(server)
    assert await error_of(client.views_open(trigger_id="1.2.3", view=modal("Pay"))) == (
        "invalid_trigger_id"
    )
    trigger = slack.issue_trigger("U0PAYER")
    opened = (await client.views_open(trigger_id=trigger, view=modal("Pay")))["view"]
    assert opened["id"] and opened["hash"] and slack.top("U0PAYER")["id"] == opened["id"]
    assert await error_of(client.views_open(trigger_id=trigger, view=modal("Pay"))) == (
        "exchanged_trigger_id"
    )
    late = slack.issue_trigger("U0PAYER", at=time.monotonic() - TRIGGER_SECONDS - 0.5)
    assert await error_of(client.views_open(trigger_id=late, view=modal("Pay"))) == (
        "expired_trigger_id"
    )
    assert [error for _, (error,) in slack.refused] == [
        "invalid_trigger_id",
        "exchanged_trigger_id",
        "expired_trigger_id",
    ]


async def test_views_update_wants_an_open_view_and_its_current_hash(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2 and the views.update reference: a stale `hash` is a
    `hash_conflict`, a view that is not open is `not_found`; each view Slack returns has an
    id and a fresh hash."""
    slack, server = fake_slack
    client = web_client(server)
    trigger = slack.issue_trigger("U0ADMIN")
    opened = (await client.views_open(trigger_id=trigger, view=modal("Connect")))["view"]
    update = client.views_update
    updated = await update(view_id=opened["id"], hash=opened["hash"], view=modal("Sending"))
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    stale = update(view_id=opened["id"], hash=opened["hash"], view=modal("Sent"))
    assert await error_of(stale) == "hash_conflict"
    assert await error_of(update(view_id="V0NEVER", view=modal("Sent"))) == "not_found"
    assert slack.top("U0ADMIN")["title"]["text"] == "Sending"


async def test_a_modal_takes_two_pushed_views_and_no_third(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2: at most 2 views pushed on an open modal (`push_limit_reached`)."""
    slack, server = fake_slack
    client = web_client(server)
    await client.views_open(trigger_id=slack.issue_trigger("U0PAYER"), view=modal("One"))
    for title in ("Two", "Three"):
        await client.views_push(trigger_id=slack.issue_trigger("U0PAYER"), view=modal(title))
    fourth = client.views_push(trigger_id=slack.issue_trigger("U0PAYER"), view=modal("Four"))
    assert await error_of(fourth) == "push_limit_reached"
    assert slack.top("U0PAYER")["title"]["text"] == "Three"


async def test_chat_update_takes_no_ephemeral_and_no_user_id(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """reference/slack.md §2 (Updating messages): an ephemeral changes only through a
    response_url, and chat.update wants the DM's D… id, not the user's (the emulator
    answers these `message_not_found` and `channel_not_found`, as Slack does)."""
    _, server = fake_slack
    client = web_client(server)
    ephemeral = await client.chat_postEphemeral(channel="C0GENERAL", user="U0PAYER", text="x")
    update = client.chat_update(channel="C0GENERAL", ts=ephemeral["message_ts"], text="Paid")
    assert await error_of(update) == "message_not_found"
    dm = await client.chat_postMessage(channel="U0PAYER", text="Your link")
    by_user = client.chat_update(channel="U0PAYER", ts=dm["ts"], text="Paid")
    assert await error_of(by_user) == "channel_not_found"
    assert (await client.chat_update(channel=dm["channel"], ts=dm["ts"], text="Paid"))["ok"]


async def test_chat_update_finds_only_a_message_the_bot_posted_there(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """chat.update names a message by its channel and ts; Slack answers one it does not
    know (never posted, or posted in another channel) `message_not_found`."""
    _, server = fake_slack
    client = web_client(server)
    posted = await client.chat_postMessage(channel="C0BILLING", text="Approval requested")
    elsewhere = client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="Approved")
    assert await error_of(elsewhere) == "message_not_found"
    invented = client.chat_update(channel="C0BILLING", ts="1700000000.000100", text="Approved")
    assert await error_of(invented) == "message_not_found"
    assert (await client.chat_update(channel="C0BILLING", ts=posted["ts"], text="Approved"))["ok"]


async def test_a_modal_opens_only_as_a_modal_and_home_takes_only_a_home_view(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, server = fake_slack
    client = web_client(server)
    home = {**modal("Invoices"), "type": "home"}
    del home["title"]
    opening = client.views_open(trigger_id=slack.issue_trigger("U0PAYER"), view=home)
    assert await error_of(opening) == "invalid_blocks"
    publishing = client.views_publish(user_id="U0PAYER", view=modal("Invoices"))
    assert await error_of(publishing) == "invalid_blocks"
    assert (await client.views_publish(user_id="U0PAYER", view=home))["ok"]


def test_the_bots_answers_are_held_to_slacks_rules_too() -> None:
    """Slack shows a slash command's reply and applies a view_submission's answer only if
    it would take them: a reply past 50 blocks is not shown, a dialog's new view is
    checked like views.update, and `errors` may name only the view's input blocks."""
    slack = FakeSlack()
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "INV-1"}}
    command = slash_command_body("list")
    assert slack.check_answer(command, {"text": "INV-1", "blocks": [section]}) == []
    assert slack.check_answer(command, {"text": "INV-1", "blocks": [section] * 51})
    typed = {"type": "input", "block_id": "to", "label": {"type": "plain_text", "text": "To"}}
    typed["element"] = {"type": "email_text_input", "action_id": "value"}
    submitted = interaction_body(
        {"type": "view_submission", "view": {**modal("Send"), "blocks": [section, typed]}}
    )
    assert slack.check_answer(submitted, {"response_action": "errors", "errors": {"to": "?"}}) == []
    assert slack.check_answer(submitted, {"response_action": "errors", "errors": {"x": "?"}})
    assert slack.check_answer(submitted, {"response_action": "update", "view": modal("Sent")}) == []
    too_long = modal("Sent to the customer by e-mail")  # a title takes 24 characters
    assert slack.check_answer(submitted, {"response_action": "update", "view": too_long})
    assert [method for method, _ in slack.refused] == ["ack"] * 3


async def test_a_view_over_250_kb_is_refused_and_leaves_its_trigger_unused(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    slack, server = fake_slack
    client = web_client(server)
    trigger = slack.issue_trigger("U0PAYER")
    big = modal("Invoices")
    big["blocks"] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2_900}} for _ in range(90)
    ]
    assert await error_of(client.views_open(trigger_id=trigger, view=big)) == "view_too_large"
    assert (await client.views_open(trigger_id=trigger, view=modal("Invoices")))["ok"]


async def test_an_answer_after_three_seconds_is_a_timeout_not_a_reply(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """Slack waits 3 s for a command's answer, then tells the person it timed out and
    shows nothing of the late answer (reference/slack.md §2, 3-second rule)."""
    slack, server = fake_slack

    async def late(request: web.Request) -> web.Response:
        await asyncio.sleep(ACK_SECONDS + 0.2)
        return web.json_response({"text": "Invoices"})

    bot = web.Application()
    bot.router.add_post("/slack/events", late)
    async with TestServer(bot, host="127.0.0.1") as bot_server, aiohttp.ClientSession() as http:
        harness = Harness(bot_server, slack, server, "secret", http)
        with pytest.raises(AssertionError, match="operation_timeout"):
            await harness.command("")


async def test_a_submission_answered_with_nothing_closes_its_dialog(
    fake_slack: tuple[FakeSlack, TestServer],
) -> None:
    """An empty answer to a view_submission closes the dialog (`clear`: the whole stack),
    and Slack then answers views.update on it `not_found`; `update` keeps it open, with a
    new hash. The fake kept every dialog open: a bot's word to a closed one looked shown."""
    slack, server = fake_slack
    client = web_client(server)
    opened = await client.views_open(trigger_id=slack.issue_trigger("U0PAYER"), view=modal("A"))
    view = opened["view"]

    def submitted(shown: dict[str, Any]) -> str:
        return interaction_body(
            {"type": "view_submission", "user": {"id": "U0PAYER"}, "view": shown}
        )

    assert (
        slack.check_answer(submitted(view), {"response_action": "update", "view": modal("B")}) == []
    )
    assert slack.top("U0PAYER")["title"]["text"] == "B"
    assert slack.top("U0PAYER")["hash"] != view["hash"]
    assert slack.check_answer(submitted(slack.top("U0PAYER")), "") == []
    gone = client.views_update(view_id=view["id"], view=modal("C"))
    assert await error_of(gone) == "not_found"
    await client.views_open(trigger_id=slack.issue_trigger("U0PAYER"), view=modal("D"))
    await client.views_push(trigger_id=slack.issue_trigger("U0PAYER"), view=modal("E"))
    assert slack.check_answer(submitted(slack.top("U0PAYER")), {"response_action": "clear"}) == []
    assert slack.stacks["U0PAYER"] == []
