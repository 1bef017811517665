from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.credentials import generate_key
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import SERVICES, create_app
from plugins.i3d import I3DCredentials
from plugins.i3d.sandbox import SANDBOX
from plugins.i3d.sandbox import create_app as create_i3d_sandbox
from tests.conftest import QUIET_SCHEDULES, SIGNING_SECRET
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.scenario.harness import TEAM, Harness

I3D_TOKEN = "scenario-i3d-token"
BotFactory = Callable[..., Awaitable[TestServer]]
"""Starts the bot; `port=` another port starts a second process on the same database."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def held_port() -> socket.socket:
    """A loopback port kept bound until a server takes the socket (`TestServer(...,
    socket_factory=lambda *_: held)`): a port from `free_port` is free again at once, and a
    server started on port 0 in the meantime can be given it."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held


@pytest.fixture
async def i3d_sandbox() -> AsyncIterator[TestServer]:
    server = TestServer(create_i3d_sandbox(I3D_TOKEN), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def schedules() -> dict[str, Any]:
    """Schedule settings of the bot under test: none, unless a test module says so."""
    return dict(QUIET_SCHEDULES)


@pytest.fixture
async def start_bot(
    database: str,
    fake_slack: tuple[FakeSlack, TestServer],
    i3d_sandbox: TestServer,
    schedules: dict[str, Any],
) -> AsyncIterator[BotFactory]:
    """Start the bot (again, on the same database and port, to simulate a restart), on
    sqlite and on PostgreSQL."""
    _, slack_server = fake_slack
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    i3d_sandbox.app[SANDBOX].return_url = f"{public_url}/landing/i3d"
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=str(slack_server.make_url("/api/")),
        public_url=public_url,
        secret_key=generate_key(),
        billing_channel="C0BILLING",
        database=database,
        payers=frozenset({"U0PAYER"}),
        payer_group="S0PAYERS",
        admins=frozenset({"U0ADMIN"}),
        poll_first_delay=0.2,
        poll_max_delay=0.5,
        **schedules,
        _env_file=None,  # type: ignore[call-arg]
    )
    servers: list[TestServer] = []

    async def start(*, port: int = port) -> TestServer:
        server = TestServer(
            create_app(settings, make_plugin_manager(allowed={"i3d"})), host="127.0.0.1", port=port
        )
        await server.start_server()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def harness(
    start_bot: BotFactory, fake_slack: tuple[FakeSlack, TestServer], i3d_sandbox: TestServer
) -> AsyncIterator[Harness]:
    bot = await start_bot()
    await bot.app[SERVICES].connections.connect(
        TEAM,
        "i3d",
        I3DCredentials(api_key=I3D_TOKEN, base_url=str(i3d_sandbox.make_url("")).rstrip("/")),
        connected_by="U0ADMIN",
    )
    slack, slack_server = fake_slack
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Harness(bot, slack, slack_server, SIGNING_SECRET, http)
