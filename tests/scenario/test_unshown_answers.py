"""A click's answer that Slack does not take never leaves "Asking…" standing: a plain
note that nothing was done takes its place, and never lands over anything newer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.slack import actions, progress
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import BUSY, Harness, Screen, text_of

TRIES = 3
"""Posts of one replacement: the first and its quick retries (`bot.slack.responses`)."""


async def asking(h: Harness, screen: Screen, action_id: str, **click: object) -> str:
    """Click; once the message reads "Asking…", Slack fails every quick try of the answer."""
    key = await h.click(screen, action_id, **click)  # type: ignore[arg-type]
    await h.wait_for(lambda: h.slack.responses.get(key))
    assert text_of(h.slack.responses[key][0]).startswith(BUSY)
    h.slack.fail_next["response_url"] = TRIES
    return key


async def test_a_pay_menu_slack_refused_leaves_no_asking_note(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].latency = 0.5  # the note is shown while i3D.net is asked
    key = await asking(h, screen, "pay", pick=lambda e: "|410001" in e["value"])
    (said,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert said.get("replace_original") is True
    assert "nothing was done" in text_of(said), said
    assert h.slack.fail_next["response_url"] == 0


async def test_a_list_slack_refused_leaves_no_fetching_note(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = actions.listing_message

    async def slowly(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await asyncio.sleep(0.5)  # the note is shown while the list is made
        return await listing(*args, **kwargs)

    monkeypatch.setattr(actions, "listing_message", slowly)
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = Screen(await h.next_response(key), key)
    key = await asking(h, menu, "back_to_list")
    (said,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert said.get("replace_original") is True
    assert "nothing was done" in text_of(said), said


async def test_an_error_slack_refused_is_said_once_slack_takes_it(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider is too slow, and Slack fails every quick try of saying so: the note
    read "Asking i3D.net…" for good."""
    monkeypatch.setattr(progress, "READ_BUDGET", 1.0)
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].inject("hang", count=10)
    key = await asking(h, screen, "pay", pick=lambda e: "|410001" in e["value"])
    (said,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert said.get("replace_original") is True
    assert "i3D.net is slow to answer right now" in text_of(said), said
    assert "back_to_list" in str(said), "the way back comes with it"
    assert h.slack.fail_next["response_url"] == 0
