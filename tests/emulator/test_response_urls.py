"""response_urls follow Slack's rules: 5 uses, 30 minutes, replace/delete the original."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_emulator.response_urls import Hook
from tests.emulator.conftest import Running

BUTTON_ROW = {
    "type": "actions",
    "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Pay"}, "action_id": "p"}
    ],
}


def webhook(running: Running, hook: Hook) -> AsyncWebhookClient:
    return AsyncWebhookClient(f"{running.emulator.public_url}/hooks/{hook.id}")


async def post(running: Running, hook: Hook, **body: Any) -> tuple[int, str]:
    answer = await webhook(running, hook).send_dict(body)
    return answer.status_code, answer.body


async def test_usable_five_times_then_refused(running: Running) -> None:
    hook = running.emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    for n in range(5):
        assert await post(running, hook, text=f"reply {n}") == (200, '{"ok": true}')
    status, body = await post(running, hook, text="sixth")
    assert status == 404 and '"used_url"' in body
    shown = [m.text for m in running.emulator.ephemerals("U0PAYER", "C0GENERAL")]
    assert shown == [f"reply {n}" for n in range(5)]


async def test_refused_after_thirty_minutes(running: Running) -> None:
    emulator = running.emulator
    hook = emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    running.clock.advance(29 * 60)
    assert (await post(running, hook, text="in time"))[0] == 200
    running.clock.advance(61)
    status, body = await post(running, hook, text="too late")
    assert status == 404 and '"expired_url"' in body
    assert [m.text for m in emulator.ephemerals("U0PAYER")] == ["in time"]


async def test_invalid_bodies_are_refused_and_not_shown(running: Running) -> None:
    hook = running.emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    too_many = [{"type": "divider"}] * 51
    status, body = await post(running, hook, text="x", blocks=too_many)
    assert status == 400 and '"invalid_blocks"' in body
    status, body = await post(running, hook, response_type="in_channel")
    assert status == 400 and '"no_text"' in body
    assert running.emulator.ephemerals("U0PAYER") == []
    assert running.emulator.messages("C0GENERAL") == []
    assert hook.uses == 0
    assert (await webhook(running, hook).send(text="fine")).status_code == 200


async def test_in_channel_posts_a_normal_message(running: Running) -> None:
    hook = running.emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    await webhook(running, hook).send(text="Everyone: INV-1 paid", response_type="in_channel")
    (message,) = running.emulator.messages("C0GENERAL")
    assert message.text == "Everyone: INV-1 paid" and message.user == "U0BOT"
    assert message.ephemeral_to is None
    assert running.emulator.ephemerals("U0PAYER") == []


async def test_replace_original_replaces_the_clicked_ephemeral(running: Running) -> None:
    emulator = running.emulator
    ephemeral = emulator.workspace.post(
        "C0GENERAL", "Pay?", [BUTTON_ROW], user="U0BOT", bot_id="B0BOT", ephemeral_to="U0PAYER"
    )
    hook = emulator.response_urls.issue("U0PAYER", "C0GENERAL", source=ephemeral)
    await webhook(running, hook).send(text="Paying…", replace_original=True)
    (shown,) = emulator.ephemerals("U0PAYER")
    assert shown is ephemeral and shown.text == "Paying…" and shown.blocks == []
    await webhook(running, hook).send(text="Done", replace_original=False)
    assert [m.text for m in emulator.ephemerals("U0PAYER")] == ["Paying…", "Done"]


async def test_delete_original_deletes_a_channel_message(running: Running) -> None:
    emulator = running.emulator
    message = emulator.workspace.post("C0BILLING", "INV-1", [BUTTON_ROW], user="U0BOT")
    hook = emulator.response_urls.issue("U0PAYER", "C0BILLING", source=message)
    await webhook(running, hook).send_dict({"delete_original": True})
    assert emulator.messages("C0BILLING") == []
    status, body = await post(running, hook, text="x", replace_original=True)
    assert status == 404 and "message_not_found" in body


async def test_a_commands_url_cannot_replace_or_delete_its_reply_as_in_slack(
    running: Running,
) -> None:
    """bolt-python #1268: after a slash command, `replace_original` posts a new message."""
    emulator = running.emulator
    hook = emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    await webhook(running, hook).send(text="Loading…", replace_original=True)
    await webhook(running, hook).send(text="3 open invoices", replace_original=True)
    assert [m.text for m in emulator.ephemerals("U0PAYER")] == ["Loading…", "3 open invoices"]
    deleted = await webhook(running, hook).send(delete_original=True)
    assert deleted.status_code == 404
    assert len(emulator.ephemerals("U0PAYER")) == 2


async def test_a_response_url_works_five_times_within_thirty_minutes(running: Running) -> None:
    emulator = running.emulator
    hook = emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    for n in range(5):
        assert (await webhook(running, hook).send(text=f"answer {n}")).status_code == 200
    refused = await webhook(running, hook).send(text="sixth")
    assert refused.status_code == 404 and "used_url" in refused.body
    late = emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    running.clock.advance(30 * 60 + 1)
    expired = await webhook(running, late).send(text="too late")
    assert expired.status_code == 404 and "expired_url" in expired.body


async def test_an_unknown_url_is_not_found(running: Running) -> None:
    answer = await AsyncWebhookClient(f"{running.emulator.public_url}/hooks/nope").send(text="x")
    assert answer.status_code == 404


async def test_a_body_that_is_not_json_slack_reads_is_refused(running: Running) -> None:
    hook = running.emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    url = f"{running.emulator.public_url}/hooks/{hook.id}"
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        nan = b'{"text": "x", "blocks": [{"type": "divider", "block_id": NaN}]}'
        for body in (b"{not json", '{"text": "utf-16"}'.encode("utf-16"), b"\xff", nan):
            async with session.post(url, data=body, headers=headers) as answer:
                assert answer.status == 400 and '"invalid_payload"' in await answer.text()
        escaped = b'{"text": "a lone \\ud800 escape"}'  # Python's parser reads it
        async with session.post(url, data=escaped, headers=headers) as answer:
            assert answer.status == 200
    assert hook.uses == 1


async def test_the_bot_replaces_an_answer_slack_refuses_with_a_notice(running: Running) -> None:
    """A refused answer would leave the person looking at "Asking…" for good."""
    from bot.slack.responses import REFUSED_NOTICE, PooledRespond

    emulator = running.emulator
    asking = emulator.workspace.post(
        "C0GENERAL", "Asking…", [BUTTON_ROW], user="U0BOT", bot_id="B0BOT", ephemeral_to="U0PAYER"
    )
    hook = emulator.response_urls.issue("U0PAYER", "C0GENERAL", source=asking)
    async with aiohttp.ClientSession() as session:
        respond = PooledRespond(
            response_url=f"{emulator.public_url}/hooks/{hook.id}", session=session
        )
        answer = await respond(text="Pay", blocks=[{"type": "divider"}] * 51, replace_original=True)
    assert answer.status_code == 400
    (shown,) = emulator.ephemerals("U0PAYER")
    assert shown.text == REFUSED_NOTICE and "few minutes" not in shown.text


async def test_the_bot_cuts_a_top_level_text_to_slacks_forty_thousand(running: Running) -> None:
    from bot.slack.responses import PooledRespond

    hook = running.emulator.response_urls.issue("U0PAYER", "C0GENERAL", from_command=True)
    async with aiohttp.ClientSession() as session:
        respond = PooledRespond(
            response_url=f"{running.emulator.public_url}/hooks/{hook.id}", session=session
        )
        answer = await respond(text="Pay " + "9" * 41_000)
    assert answer.status_code == 200
    (shown,) = running.emulator.ephemerals("U0PAYER")
    assert len(shown.text) == 40_000 and shown.text.endswith("…")
