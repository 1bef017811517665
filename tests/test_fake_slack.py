"""The fake Slack refuses what Slack refuses, so a test cannot pass where Slack would not."""

from __future__ import annotations

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
