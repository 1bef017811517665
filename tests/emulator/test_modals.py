"""Modals as Slack's client runs them: required inputs, response_actions, view_closed."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from slack_emulator.elements import UserActionError
from tests.emulator.conftest import Running

PAYER = "U0PAYER"


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def modal(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "pay",
        "title": plain(title),
        "submit": plain("Go"),
        "blocks": [
            {
                "type": "input",
                "block_id": "what",
                "label": plain("What next?"),
                "element": {"type": "plain_text_input", "action_id": "text"},
            },
            {
                "type": "input",
                "block_id": "method",
                "optional": True,
                "label": plain("Method"),
                "element": {
                    "type": "static_select",
                    "action_id": "choice",
                    "options": [
                        {"text": plain("Card"), "value": "card"},
                        {"text": plain("iDEAL"), "value": "ideal"},
                    ],
                },
            },
            {
                "type": "actions",
                "block_id": "tools",
                "elements": [{"type": "button", "action_id": "help", "text": plain("Help")}],
            },
        ],
        **extra,
    }


async def open_modal(running: Running, view: dict[str, Any]) -> str:
    trigger = running.emulator.surfaces.issue_trigger(PAYER)
    opened = await running.web_client().views_open(trigger_id=trigger, view=view)
    return str(opened["view"]["id"])


async def test_response_actions_change_the_stack(running: Running, bolt: AsyncApp) -> None:
    emulator = running.emulator
    submitted: list[dict[str, Any]] = []

    @bolt.view("pay")
    async def on_submit(ack: AsyncAck, view: dict) -> None:
        values = view["state"]["values"]
        submitted.append(values)
        step = values["what"]["text"]["value"]
        if step == "update":
            await ack(response_action="update", view=modal("Updated"))
        elif step == "push":
            await ack(response_action="push", view=modal("Pushed"))
        elif step == "clear":
            await ack(response_action="clear")
        else:
            await ack()

    first = await open_modal(running, modal("First"))
    values = {"what": {"text": "update"}, "method": {"choice": "card"}}
    await emulator.submit_view(PAYER, first, values)
    assert submitted[0]["method"]["choice"]["selected_option"]["value"] == "card"
    assert "tools" not in submitted[0]  # only input blocks are submitted
    top = emulator.modal(PAYER)
    assert top is not None and top.id == first and top.definition["title"]["text"] == "Updated"

    await emulator.submit_view(PAYER, first, {"what": {"text": "push"}})
    pushed = emulator.modal(PAYER)
    assert pushed is not None and pushed.definition["title"]["text"] == "Pushed"
    assert pushed.previous_view_id == first and len(emulator.surfaces.stacks[PAYER]) == 2

    await emulator.submit_view(PAYER, pushed.id, {"what": {"text": "done"}})
    assert emulator.modal(PAYER).id == first  # an empty ack closes only the current view

    await emulator.submit_view(PAYER, first, {"what": {"text": "push"}})
    await emulator.submit_view(PAYER, None, {"what": {"text": "clear"}})
    assert emulator.modal(PAYER) is None


async def test_required_inputs_are_checked_before_sending(running: Running, bolt: AsyncApp) -> None:
    calls: list[str] = []

    @bolt.view("pay")
    async def on_submit(ack: AsyncAck) -> None:
        calls.append("submitted")
        await ack()

    view_id = await open_modal(running, modal("Pay"))
    reply = await running.emulator.submit_view(PAYER, view_id, {})
    assert reply.error == "required_input_missing" and calls == []
    assert running.emulator.modal(PAYER).errors == {"what": "Please complete this required field."}


async def test_text_outside_an_inputs_lengths_is_refused_before_sending(
    running: Running, bolt: AsyncApp
) -> None:
    """Slack's client will not submit text longer than `max_length` (or shorter than
    `min_length`): the app never sees it, so the emulator does not send it either."""
    calls: list[str] = []

    @bolt.view("pay")
    async def on_submit(ack: AsyncAck) -> None:
        calls.append("submitted")
        await ack()

    view = modal("Pay")
    view["blocks"][0]["element"] |= {"max_length": 5, "min_length": 2}
    view_id = await open_modal(running, view)
    reply = await running.emulator.submit_view(PAYER, view_id, {"what": {"text": "x" * 6}})
    assert reply.error == "input_length_refused" and calls == []
    assert running.emulator.modal(PAYER).errors == {"what": "Must be 5 characters or fewer."}
    reply = await running.emulator.submit_view(PAYER, view_id, {"what": {"text": "x"}})
    assert running.emulator.modal(PAYER).errors == {"what": "Must be at least 2 characters."}
    reply = await running.emulator.submit_view(PAYER, view_id, {"what": {"text": "x" * 5}})
    assert reply.error is None and calls == ["submitted"]


async def test_a_modal_without_a_submit_button_cannot_be_submitted(
    running: Running, bolt: AsyncApp
) -> None:
    """Slack shows such a modal with Close only: nothing reaches the app."""
    calls: list[str] = []

    @bolt.view("done")
    async def on_submit(ack: AsyncAck) -> None:
        calls.append("submitted")
        await ack()

    result = {
        "type": "modal",
        "callback_id": "done",
        "title": plain("Invoice created"),
        "close": plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Done."}}],
    }
    view_id = await open_modal(running, result)
    with pytest.raises(UserActionError, match="no submit button"):
        await running.emulator.submit_view(PAYER, view_id, {})
    assert calls == []


async def test_clicks_in_a_modal_and_view_closed(running: Running, bolt: AsyncApp) -> None:
    seen: dict[str, Any] = {}

    @bolt.action("help")
    async def on_help(ack: AsyncAck, body: dict) -> None:
        await ack()
        seen["help"] = body

    @bolt.view_closed("pay")
    async def on_closed(ack: AsyncAck, body: dict) -> None:
        await ack()
        seen["closed"] = body

    view_id = await open_modal(running, modal("Pay", notify_on_close=True))
    emulator = running.emulator
    assert await emulator.click(PAYER, view_id, "choice", selected="ideal") is None  # no dispatch
    reply = await emulator.click(PAYER, view_id, "help")
    assert reply is not None and reply.status == 200
    body = seen["help"]
    assert body["container"] == {"type": "view", "view_id": view_id}
    assert "response_url" not in body and "message" not in body
    picked = body["view"]["state"]["values"]["method"]["choice"]["selected_option"]
    assert picked["value"] == "ideal"

    closed = await emulator.close_view(PAYER)
    assert closed is not None and closed.status == 200
    assert seen["closed"]["type"] == "view_closed" and seen["closed"]["view"]["id"] == view_id
    assert emulator.modal(PAYER) is None


async def test_checkboxes_in_a_message_send_and_remember(running: Running, bolt: AsyncApp) -> None:
    picks: list[Any] = []

    @bolt.action("tick")
    async def on_tick(ack: AsyncAck, action: dict, body: dict) -> None:
        await ack()
        picks.append((action["selected_options"], body["state"]["values"], body["message"]["ts"]))

    boxes = {
        "type": "checkboxes",
        "action_id": "tick",
        "options": [
            {"text": plain("INV-1"), "value": "INV-1"},
            {"text": plain("INV-2"), "value": "INV-2"},
        ],
    }
    blocks = [{"type": "actions", "block_id": "b", "elements": [boxes]}]
    client = running.web_client()
    posted = await client.chat_postMessage(channel="C0GENERAL", text="Pick", blocks=blocks)
    message = running.emulator.messages("C0GENERAL")[0]
    await running.emulator.click(PAYER, message, "tick", selected=["INV-1", "INV-2"])
    options, state, ts = picks[0]
    assert [o["value"] for o in options] == ["INV-1", "INV-2"] and ts == posted["ts"]
    assert [o["value"] for o in state["b"]["tick"]["selected_options"]] == ["INV-1", "INV-2"]
    assert message.selections[PAYER]["b"]["tick"]["selected_options"][1]["value"] == "INV-2"
    assert "U0ADMIN" not in message.selections  # each user has their own picks


async def test_private_metadata_past_3000_characters_is_refused_by_every_views_method(
    running: Running,
) -> None:
    """Slack keeps at most 3,000 characters of a view's private_metadata: views.open,
    views.push and views.update refuse a view with more, and nothing changes on screen."""
    client = running.web_client()
    view_id = await open_modal(running, modal("Pay", private_metadata="x" * 3000))
    too_long = modal("Pay", private_metadata="x" * 3001)
    trigger = running.emulator.surfaces.issue_trigger(PAYER)
    for call in (
        client.views_open(trigger_id=trigger, view=too_long),
        client.views_push(trigger_id=running.emulator.surfaces.issue_trigger(PAYER), view=too_long),
        client.views_update(view_id=view_id, view=too_long),
    ):
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response["error"] == "invalid_arguments"
        assert "private_metadata" in str(raised.value.response["response_metadata"])
    (shown,) = running.emulator.surfaces.all_views()
    assert shown.id == view_id and len(shown.definition["private_metadata"]) == 3000
