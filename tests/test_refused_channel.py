"""A billing-channel post Slack refuses for good because of the channel is said to the
admins instead (or, with none, to the payer), once; one refused for its content is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import INSTEAD, OutboxSender, to_admins
from bot.store import Store
from slack_emulator import EMULATOR, Emulator
from slack_emulator import create_app as create_emulator
from tests.fake_slack import BOT_TOKEN

RECORD = {
    "text": "Paid: INV-1",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*INV-1* paid"}}],
}


@pytest.fixture
async def slack() -> AsyncIterator[tuple[Emulator, TestServer]]:
    app = create_emulator(
        request_url="http://127.0.0.1:9/slack/events", signing_secret="s", bot_token=BOT_TOKEN
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield app[EMULATOR], server
    finally:
        await server.close()


async def rounds(store: Store, server: TestServer, count: int, admins: frozenset[str]) -> None:
    """`count` send rounds, each by a new sender (as after a restart)."""

    async def told(team_id: str) -> frozenset[str]:
        return admins

    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            client = AsyncWebClient(
                token=BOT_TOKEN, base_url=str(server.make_url("/api/")), retry_handlers=[]
            )
            await OutboxSender(store, client, http, admins=told).send_due()


async def test_an_archived_channels_record_goes_to_the_payer_when_nobody_administers(
    tmp_path: Path, slack: tuple[Emulator, TestServer]
) -> None:
    emulator, server = slack
    emulator.workspace.channels["C0BILLING"].is_archived = True
    store = Store(tmp_path / "db.sqlite")
    args = {"channel": "C0BILLING", **RECORD, INSTEAD: to_admins("U0PAYER")}
    store.enqueue("chat.postMessage", args, key="confirmation:s1", team_id="T0")
    await rounds(store, server, 3, frozenset())
    (dm,) = emulator.messages(emulator.workspace.dm_with("U0PAYER").id)
    assert dm.text.startswith(":warning: invoicebot could not post this to <#C0BILLING>: ")
    assert "archived" in dm.text and "`/invoices billing`" in dm.text.split("\n")[0]
    assert [b["text"]["text"] for b in dm.blocks][1:] == ["*INV-1* paid"]
    assert emulator.messages("C0BILLING") == []
    store.close()


async def test_a_record_refused_for_its_content_is_not_sent_elsewhere(
    tmp_path: Path, slack: tuple[Emulator, TestServer]
) -> None:
    emulator, server = slack
    store = Store(tmp_path / "db.sqlite")
    broken = {"channel": "C0BILLING", "text": "x", "blocks": [{"type": "nonsense"}]}
    store.enqueue("chat.postMessage", {**broken, INSTEAD: to_admins("U0PAYER")}, key="k")
    await rounds(store, server, 2, frozenset({"U0ADMIN"}))
    for user in ("U0ADMIN", "U0PAYER"):
        assert emulator.messages(emulator.workspace.dm_with(user).id) == []
    (row,) = store.outbox_items()
    assert row["gave_up_at"] is not None
    store.close()
