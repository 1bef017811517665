from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.credentials import generate_key
from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import create_app
from tests.fake_slack import BOT_TOKEN, FakeSlack

QUIET_SCHEDULES = {"digest": "off", "due_reminder_days": 0}
"""Tests of other things must not see a digest or a reminder because of the day they run."""

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
async def fake_slack() -> AsyncIterator[tuple[FakeSlack, TestServer]]:
    fake = FakeSlack()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, server
    finally:
        await server.close()


@pytest.fixture
def settings(
    tmp_path: Path, fake_slack: tuple[FakeSlack, TestServer], request: pytest.FixtureRequest
) -> Settings:
    """Test settings; a test may add its own with `indirect` parametrization."""
    _, server = fake_slack
    return Settings(
        **{**QUIET_SCHEDULES, **getattr(request, "param", {})},
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=str(server.make_url("/api/")),
        public_url="http://127.0.0.1:1",
        secret_key=generate_key(),
        billing_channel="C0BILLING",
        database=tmp_path / "invoicebot.sqlite",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def bot_server(settings: Settings) -> AsyncIterator[TestServer]:
    pm = make_plugin_manager(entry_point_plugins=False)
    server = TestServer(create_app(settings, pm), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
