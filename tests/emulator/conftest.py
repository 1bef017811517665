"""An emulator on loopback, and a small Bolt AsyncApp wired to it the way invoicebot is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer, unused_port
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import EMULATOR, Emulator, ManualClock, create_app

SIGNING_SECRET = "emulator-test-signing-secret"
BOT_TOKEN = "xoxb-emulator-test"


@dataclass
class Running:
    emulator: Emulator
    server: TestServer
    bot_port: int
    clock: ManualClock

    @property
    def api_url(self) -> str:
        return str(self.server.make_url("/api/"))

    def web_client(self, token: str = BOT_TOKEN) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=self.api_url)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    clock = ManualClock()
    bot_port = unused_port()
    app = create_app(
        request_url=f"http://127.0.0.1:{bot_port}/slack/events",
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        clock=clock,
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    emulator = app[EMULATOR]
    emulator.public_url = str(server.make_url("/")).rstrip("/")
    try:
        yield Running(emulator, server, bot_port, clock)
    finally:
        await server.close()


@pytest.fixture
async def bolt(running: Running) -> AsyncIterator[AsyncApp]:
    """A Bolt app served on the port the emulator sends to; tests add listeners."""
    app = AsyncApp(client=running.web_client(), signing_secret=SIGNING_SECRET)
    server = TestServer(app.web_app(), host="127.0.0.1", port=running.bot_port)
    await server.start_server()
    try:
        yield app
    finally:
        await server.close()
