"""The demo, started in-process on loopback, driven as a person would through the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.demo import Demo, DemoOptions, start_demo
from bot.plugins import make_plugin_manager
from slack_emulator import EMULATOR, Emulator, Message
from tests.conftest import QUIET_SCHEDULES
from tests.scenario.conftest import free_port

GENERAL = "C0GENERAL"
BILLING = "C0BILLING"


@dataclass
class Person:
    """One user of the small Slack, looking at #general."""

    slack: Emulator
    user: str

    async def types(self, text: str) -> None:
        await self.slack.slash_command(self.user, GENERAL, text)

    async def sees(self, wanted: str, seconds: float = 10.0) -> Message:
        def find() -> Message | None:
            shown = self.slack.ephemerals(self.user, GENERAL) + self.slack.messages(GENERAL)
            return next((m for m in reversed(shown) if wanted in everything_in(m)), None)

        return await self.slack.wait_until(find, seconds)

    async def clicks(self, message: Message, action_id: str, **how: Any) -> None:
        await self.slack.click(self.user, message, action_id, **how)


def everything_in(message: Message) -> str:
    """The text a person reads in a message, including button labels and options."""
    return message.text + " " + str(message.blocks)


def button_value(message: Message, action_id: str, contains: str) -> str:
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id and contains in element.get("value", ""):
                return str(element["value"])
    raise AssertionError(f"no {action_id} button with {contains!r}")


def url_of(message: Message, action_id: str) -> str:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["url"])
    raise AssertionError(f"no {action_id} link")


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with AsyncExitStack() as stack:
        yield await start_demo(
            stack,
            DemoOptions(
                port=free_port(), data_dir=tmp_path / "demo", schedules=dict(QUIET_SCHEDULES)
            ),
            make_plugin_manager(),
        )


@pytest.fixture
def person(demo: Demo) -> Callable[[str], Person]:
    return lambda user: Person(demo.slack[EMULATOR], user)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session
