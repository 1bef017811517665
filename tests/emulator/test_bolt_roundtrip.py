"""A real Bolt AsyncApp on loopback, driven through the emulator like a user in Slack."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from tests.emulator.conftest import Running

PAYER, GENERAL, BILLING = "U0PAYER", "C0GENERAL", "C0BILLING"


def invoice_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "section", "block_id": "inv", "text": {"type": "mrkdwn", "text": "*INV-1*"}},
        {
            "type": "actions",
            "block_id": "pay_row",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "method",
                    "placeholder": {"type": "plain_text", "text": "Method"},
                    "options": [
                        {"text": {"type": "plain_text", "text": "Card"}, "value": "card"},
                        {"text": {"type": "plain_text", "text": "iDEAL"}, "value": "ideal"},
                    ],
                },
                {
                    "type": "button",
                    "action_id": "pay",
                    "text": {"type": "plain_text", "text": "Pay"},
                    "style": "primary",
                    "value": "INV-1",
                },
            ],
        },
    ]


PAY_MODAL = {
    "type": "modal",
    "callback_id": "pay_modal",
    "private_metadata": "INV-1",
    "title": {"type": "plain_text", "text": "Pay INV-1"},
    "submit": {"type": "plain_text", "text": "Pay"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


async def test_an_acked_message_shows_as_the_users_ephemeral(
    running: Running, bolt: AsyncApp
) -> None:
    @bolt.command("/invoices")
    async def invoices(ack: AsyncAck) -> None:
        await ack(text="No open invoices.")

    reply = await running.emulator.slash_command(PAYER, GENERAL, "list")
    assert reply.status == 200 and reply.error is None
    (shown,) = running.emulator.ephemerals(PAYER, GENERAL)
    assert shown.text == "No open invoices." and shown.user == "U0BOT"
    assert running.emulator.ephemerals("U0ADMIN") == []
    assert running.emulator.messages(GENERAL) == []
    assert len(running.emulator.calls_to("auth.test")) == 1


async def test_a_commands_text_comes_escaped_as_slack_sends_it(
    running: Running, bolt: AsyncApp
) -> None:
    """Slack escapes its control characters in what a person types after a command."""
    seen: list[str] = []

    @bolt.command("/invoices")
    async def invoices(ack: AsyncAck, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        await ack()

    await running.emulator.slash_command(PAYER, GENERAL, "search R&D <beta> &amp;")
    assert seen == ["search R&amp;D &lt;beta&gt; &amp;amp;"]


async def test_the_full_flow(running: Running, bolt: AsyncApp) -> None:
    emulator = running.emulator
    seen: dict[str, Any] = {}

    @bolt.command("/invoices")
    async def invoices(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack(text="Loading invoices…")
        await respond(text="1 open invoice", blocks=invoice_blocks(), replace_original=True)

    @bolt.action("method")
    async def method(ack: AsyncAck) -> None:
        await ack()

    @bolt.action("pay")
    async def pay(ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        seen["action"], seen["state"], seen["container"] = action, body["state"], body["container"]
        await client.views_open(trigger_id=body["trigger_id"], view=PAY_MODAL)

    @bolt.view("pay_modal")
    async def submitted(ack: AsyncAck, view: dict, client: AsyncWebClient) -> None:
        amount = view["state"]["values"]["amount"]["value"]["value"]
        seen.setdefault("amounts", []).append(amount)
        if amount != "10":
            await ack(response_action="errors", errors={"amount": "Enter the invoice amount, 10"})
            return
        await ack()
        await client.chat_postMessage(channel=BILLING, text=f"{view['private_metadata']} paid")

    reply = await emulator.slash_command(PAYER, GENERAL, "")
    assert reply.body == "Loading invoices…"
    listing = await emulator.wait_until(
        lambda: [m for m in emulator.ephemerals(PAYER, GENERAL) if m.blocks]
    )
    # As in Slack, a command's response_url cannot replace the command's own reply: the
    # "Loading…" ack stays and the answer is a second message. (The bot acks with nothing.)
    assert emulator.ephemerals(PAYER, GENERAL)[0].text == "Loading invoices…"
    assert len(emulator.ephemerals(PAYER, GENERAL)) == 2
    (message,) = listing
    assert message.text == "1 open invoice"

    picked = await emulator.click(PAYER, message, "method", selected="ideal")
    assert picked is not None and picked.status == 200
    clicked = await emulator.click(PAYER, message, "pay")
    assert clicked is not None and clicked.status == 200
    assert seen["action"]["value"] == "INV-1" and seen["action"]["block_id"] == "pay_row"
    chosen = seen["state"]["values"]["pay_row"]["method"]["selected_option"]
    assert chosen["value"] == "ideal"
    assert seen["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": GENERAL,
        "is_ephemeral": True,
    }

    modal = await emulator.wait_until(lambda: emulator.modal(PAYER))
    assert modal.definition["callback_id"] == "pay_modal"
    wrong = await emulator.submit_view(PAYER, modal.id, {"amount": {"value": "9"}})
    assert wrong.status == 200 and wrong.error is None
    assert emulator.modal(PAYER) is modal
    assert modal.errors == {"amount": "Enter the invoice amount, 10"}

    right = await emulator.submit_view(PAYER, modal.id, {"amount": {"value": "10"}})
    assert right.status == 200 and emulator.modal(PAYER) is None
    assert seen["amounts"] == ["9", "10"]
    posted = await emulator.wait_until(lambda: emulator.messages(BILLING))
    assert posted[0].text == "INV-1 paid"


async def test_slack_shows_dispatch_failed_when_the_app_does_not_answer(
    running: Running, bolt: AsyncApp
) -> None:
    reply = await running.emulator.slash_command(PAYER, GENERAL, "", command="/unknown")
    assert reply.status == 404 and reply.error == "dispatch_failed"
    (shown,) = running.emulator.ephemerals(PAYER, GENERAL)
    assert shown.text == '/unknown failed with the error "dispatch_failed"'
    assert shown.user == "USLACKBOT"


async def test_a_slow_ack_times_out_like_slack(running: Running, bolt: AsyncApp) -> None:
    running.emulator.bot.ack_timeout = 0.2

    @bolt.command("/invoices")
    async def slow(ack: AsyncAck) -> None:
        await asyncio.sleep(0.5)
        await ack()

    reply = await running.emulator.slash_command(PAYER, GENERAL, "")
    assert reply.error == "operation_timeout"


async def test_the_home_tab(running: Running, bolt: AsyncApp) -> None:
    @bolt.event("app_home_opened")
    async def home(event: dict, client: AsyncWebClient) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"Hi <@{event['user']}>"}}]
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    reply = await running.emulator.open_home(PAYER)
    assert reply.status == 200
    view = await running.emulator.wait_until(lambda: running.emulator.home(PAYER))
    assert view.blocks[0]["text"]["text"] == "Hi <@U0PAYER>"
