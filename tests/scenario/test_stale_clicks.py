"""A click on a button an older version of invoicebot posted (its action id is no longer
known) is acked at once and answered in plain words, never Bolt's 404 (a warning sign on
the button and nothing else); known buttons and other payloads are untouched by it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.scenario.harness import CHANNEL, TEAM, Harness, find, text_of
from tests.slack_requests import interaction_body


def click_on(h: Harness, action: dict[str, Any], **more: Any) -> tuple[str, dict[str, Any]]:
    key, url = h.response_url()
    payload = {
        "type": "block_actions",
        "user": {"id": "U0PAYER", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "acme"},
        "api_app_id": "A0INVOICEBOT",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "general"},
        "trigger_id": h.slack.issue_trigger("U0PAYER"),
        "response_url": url,
        "actions": [{"block_id": "b1", "action_ts": "1.2", **action}],
        **more,
    }
    return key, payload


@pytest.mark.parametrize(
    "action",
    [
        {"action_id": "pay_v1", "type": "button", "value": "i3d|410001"},
        {"action_id": "method_v1", "type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "Card"}, "value": "card"}},
    ],
    ids=["button", "menu"],
)  # fmt: skip
async def test_a_click_on_a_button_no_longer_known_is_answered_in_plain_words(
    harness: Harness, action: dict[str, Any]
) -> None:
    h = harness
    key, payload = click_on(h, action)
    status, answer, elapsed = await h.post(interaction_body(payload))
    assert status == 200, answer
    assert elapsed < 1.0
    told = await h.next_response(key)
    said = text_of(told)
    assert "older" in said and "`/invoices`" in said and "nothing was done" in said
    assert f"That {'button' if action['type'] == 'button' else 'menu'} is from" in said
    assert told.get("response_type", "ephemeral") == "ephemeral"
    assert told.get("replace_original") in (None, False)  # the old message stays as it was


async def test_a_known_button_still_reaches_its_own_listener(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = await h.next_response(key)
    assert "older" not in text_of(menu)
    find(menu, "choose_method", lambda e: True)


async def test_a_dialog_submission_is_not_taken_for_a_stale_click(harness: Harness) -> None:
    """The catch-all is for clicks only: a submission of a dialog no listener knows is
    not answered with the click's words (its response URLs are not used)."""
    h = harness
    key, url = h.response_url()
    view = h.slack.show_modal("U0PAYER", {"type": "modal", "callback_id": "retired_dialog"})
    payload = {
        "type": "view_submission",
        "trigger_id": h.slack.issue_trigger("U0PAYER"),
        "user": {"id": "U0PAYER"},
        "team": {"id": TEAM},
        "view": {**view, "state": {"values": {}}},
        "response_urls": [{"block_id": "b", "action_id": "a", "response_url": url}],
    }
    status, answer, _ = await h.post(interaction_body(payload))
    assert "older" not in json.dumps(answer)
    assert status == 404
    assert key not in h.slack.responses


async def test_a_stale_click_in_a_dialog_is_acked_quietly(harness: Harness) -> None:
    """A dialog's click has no response URL to answer on: acked, nothing posted."""
    h = harness
    view = h.slack.show_modal("U0PAYER", {"type": "modal", "callback_id": "retired_dialog"})
    _, payload = click_on(h, {"action_id": "add_v1", "type": "button", "value": "x"})
    del payload["response_url"], payload["channel"]
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = {**view, "state": {"values": {}}}
    status, answer, _ = await h.post(interaction_body(payload))
    assert status == 200, answer
    assert [c.method for c in h.slack.calls if c.method != "auth.test"] == []
    assert h.slack.responses == {}


async def test_a_stale_click_in_app_home_is_answered_in_the_persons_messages(
    harness: Harness,
) -> None:
    """App Home has no response URL: the answer goes where its other clicks' answers go."""
    h = harness
    _, payload = click_on(h, {"action_id": "home_v1", "type": "button", "value": "x"})
    del payload["response_url"], payload["channel"]
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    payload["view"] = {"id": "V0HOME", "type": "home", "state": {"values": {}}}
    status, answer, _ = await h.post(interaction_body(payload))
    assert status == 200, answer
    (posted,) = await h.wait_for(lambda: h.slack.called("chat.postMessage"))
    assert posted.args["channel"] == "U0PAYER" and "older" in posted.args["text"]
