"""The fake Slack refuses what Slack refuses, so a test cannot pass where Slack would not."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import BOT_TOKEN, FakeSlack


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
