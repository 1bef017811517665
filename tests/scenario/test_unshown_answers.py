"""A click's answer that Slack does not take never leaves "Asking…" standing: a plain
note that nothing was done takes its place, and never lands over anything newer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientTimeout
from aiohttp.test_utils import TestServer

from bot.provider import PaymentRejected
from bot.slack import actions, progress, responses
from bot.slack.customers import customer_link
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import BUSY, Harness, Screen, text_of
from tests.scenario.test_settling_once import menu_with_bank

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


@pytest.mark.parametrize("fault", ["lost", "late"])
async def test_a_menu_slack_may_have_shown_is_never_replaced_after_the_fact(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Slack showed the menu but its answer was lost, or came after the time-out: the
    person may have clicked on the menu since, so nothing replaces it (an error put
    there would have landed over a link got from it); a note below says what to do
    should it still read "Asking…"."""
    monkeypatch.setattr(responses, "RESPONSE_URL_TIMEOUT", ClientTimeout(total=1.0))
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    i3d_sandbox.app[SANDBOX].latency = 0.5
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    await h.wait_for(lambda: h.slack.responses.get(key))
    if fault == "lost":
        h.slack.lose_answer_next["response_url"] = TRIES
    else:
        h.slack.hang_answer_next["response_url"] = 1
    notes = await h.wait_for(
        lambda: [a for a in h.answers(key) if a.get("replace_original") is False], within=10
    )
    assert "nothing was paid" in text_of(notes[0]), notes
    assert "Asking" in text_of(notes[0])
    await asyncio.sleep(1.5)
    menus = [a for a in h.answers(key) if a.get("replace_original") is True]
    assert menus and all("get_link" in str(m) or "choose_method" in str(m) for m in menus)
    assert len(notes) == 1


async def test_a_refused_start_slack_refused_is_said_once_slack_takes_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Get link, and the provider refuses the start after "Asking…" is shown, with Slack
    failing every quick try of saying so: the note read "Asking i3D.net to start the
    payment…" for good, with no buttons and no word that nothing was started."""
    h = harness
    checkout = h.bot.app[SERVICES].checkout

    async def refused(**_: Any) -> Any:
        h.slack.fail_next["response_url"] = TRIES
        raise PaymentRejected("i3D.net refused this payment: the method is not allowed.")

    monkeypatch.setattr(checkout, "start", refused)
    menu = await menu_with_bank(h)
    key = await h.click(menu, "get_link")
    (said,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert said.get("replace_original") is True
    assert "refused this payment" in text_of(said), said
    assert "back_to_list" in str(said), "the way back comes with it"


async def test_a_link_posted_below_that_slack_refused_is_posted_once_slack_takes_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link that comes as a new message (a customer's, under the list): Slack failing
    every quick try of its post lost it, with a payment started and nothing said."""
    started = actions.start_and_show

    def below(payment: Any, pay_url: str, provider: Any, lifetime: float) -> dict[str, Any]:
        return customer_link(payment, pay_url, lifetime, None)

    async def as_a_new_message(*args: Any) -> None:
        await started(*args, announced=True, link_message=below)

    monkeypatch.setattr(actions, "start_and_show", as_a_new_message)
    h = harness
    menu = await menu_with_bank(h)
    h.slack.fail_next["response_url"] = TRIES
    key = await h.click(menu, "get_link")
    (said,) = await h.wait_for(lambda: h.answers(key), within=15)
    assert said.get("replace_original") is False
    assert "/pay/" in str(said)
    assert h.slack.fail_next["response_url"] == 0
