"""A queued link whose payment cannot be read just now holds up no other Slack call."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import Payment
from bot.outbox import LINK_SHOWN, OutboxSender
from bot.store import Store
from tests.fake_slack import BOT_TOKEN, FakeSlack


async def test_a_link_whose_payment_cannot_be_read_waits_and_the_rest_go(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack, server = fake_slack
    store = Store(tmp_path / "db.sqlite")
    store.enqueue(
        "chat.postMessage", {"channel": "C0PAYER", "text": "your link"}, key=f"{LINK_SHOWN}:p1"
    )
    store.enqueue("chat.postMessage", {"channel": "C0BILLING", "text": "paid"}, key="k")

    def unreadable(payment_id: str) -> Payment | None:
        raise ValueError(f"payment {payment_id} cannot be read")

    monkeypatch.setattr(store, "payment", unreadable)
    async with aiohttp.ClientSession() as http:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
        )
        sent = await OutboxSender(store, client, http).send_due()
    assert sent == 1
    assert [m["text"] for m in slack.posted_to("C0BILLING")] == ["paid"]
    assert slack.posted_to("C0PAYER") == []
    (waiting,) = [row for row in store.outbox_items() if row["key"] == f"{LINK_SHOWN}:p1"]
    assert waiting["sent_at"] is None and waiting["gave_up_at"] is None
    assert waiting["attempts"] == 1 and waiting["next_attempt_at"] > time.time()
    assert "cannot be read" in waiting["last_error"]
    store.close()
