"""A connect dialog typed wrong: the dialog stays open with a sentence on the field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from bot.plugins import make_plugin_manager
from bot.settings import Settings
from bot.web import STORE
from tests.fake_slack import FakeSlack
from tests.scenario.harness import TEAM, Harness
from tests.scenario.test_two_factor import admin_harness, submit


@pytest.fixture
async def pingproxies(
    settings: Settings, fake_slack: tuple[FakeSlack, TestServer]
) -> AsyncIterator[Harness]:
    pm = make_plugin_manager(allowed={"pingproxies"})
    async with admin_harness(settings, fake_slack, pm) as h:
        yield h


async def test_a_short_email_is_pointed_out_on_its_field_and_nothing_is_saved(
    pingproxies: Harness,
) -> None:
    h = pingproxies
    await h.command("connect pingproxies", user="U0ADMIN")
    (opened,) = await h.wait_for(lambda: h.slack.called("views.open"))
    typed = {
        "application_public_key": "pub",
        "application_private_key": "priv",
        "email": "ab",
        "password": "hunter2",
        "client_ip": "10.0.0.300",
    }
    answer = await submit(h, opened.args["view"], typed)
    assert answer == {
        "response_action": "errors",
        "errors": {
            "email": "The account e-mail is too short: type all of it (at least 3 characters).",
            "client_ip": "“10.0.0.300” is not an IP address: type one like 203.0.113.7.",
        },
    }
    assert h.slack.called("views.update") == []
    assert h.bot.app[STORE].connected_providers(TEAM) == []
