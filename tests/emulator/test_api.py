"""The JSON API and the page drive the same emulator a test drives."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp

from tests.emulator.conftest import Running
from tests.emulator.test_bolt_roundtrip import PAY_MODAL

BUTTONS = [
    {
        "type": "actions",
        "block_id": "row",
        "elements": [
            {
                "type": "button",
                "action_id": "pay",
                "text": {"type": "plain_text", "text": "Pay"},
                "value": "INV-7",
            }
        ],
    }
]


async def call(running: Running, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, running.server.make_url(path), **kw) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def test_the_page_is_served(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(running.server.make_url("/")) as page:
            html = await page.text()
            assert page.status == 200 and "Slack emulator (development tool)" in html
        for asset in ("app.js", "style.css"):
            async with session.get(running.server.make_url(f"/emulator/page/{asset}")) as found:
                assert found.status == 200


async def test_commands_and_clicks_through_the_api(running: Running, bolt: AsyncApp) -> None:
    clicked: list[str] = []

    @bolt.command("/invoices")
    async def invoices(ack: AsyncAck, command: dict) -> None:
        await ack(text=f"You asked for {command['text']}", blocks=BUTTONS)

    @bolt.action("pay")
    async def pay(ack: AsyncAck, action: dict) -> None:
        await ack()
        clicked.append(action["value"])

    body = {"user": "U0PAYER", "channel": "C0GENERAL", "text": "/invoices open"}
    status, answer = await call(running, "POST", "/emulator/command", json=body)
    assert status == 200 and answer["reply"]["status"] == 200

    status, state = await call(running, "GET", "/emulator/state?user=U0PAYER")
    general = next(c for c in state["channels"] if c["id"] == "C0GENERAL")
    (shown,) = general["messages"]
    assert shown["text"] == "You asked for open" and shown["ephemeral"] is True
    assert shown["author"] == "invoicebot"

    click = {"user": "U0PAYER", "ts": shown["ts"], "action_id": "pay"}
    status, answer = await call(running, "POST", "/emulator/action", json=click)
    assert status == 200 and answer["reply"]["status"] == 200 and clicked == ["INV-7"]

    _, admin = await call(running, "GET", "/emulator/state?user=U0ADMIN")
    admin_general = next(c for c in admin["channels"] if c["id"] == "C0GENERAL")
    assert admin_general["messages"] == []  # ephemerals are only visible to their user


async def test_users_see_only_their_channels(running: Running) -> None:
    _, viewer = await call(running, "GET", "/emulator/state?user=U0VIEWER")
    assert [c["id"] for c in viewer["channels"]] == ["C0GENERAL", "D0VIEWER"]
    assert {u["id"] for u in viewer["users"]} == {"U0ADMIN", "U0PAYER", "U0VIEWER"}


async def test_impossible_actions_are_refused_with_a_reason(running: Running) -> None:
    click = {"user": "U0PAYER", "ts": "1.000001", "action_id": "pay"}
    status, answer = await call(running, "POST", "/emulator/action", json=click)
    assert status == 400 and "no message" in answer["error"]
    command = {"user": "U0VIEWER", "channel": "C0BILLING", "text": "/invoices"}
    status, answer = await call(running, "POST", "/emulator/command", json=command)
    assert status == 400 and "not in channel" in answer["error"]


async def test_a_malformed_number_is_refused_with_a_reason(running: Running) -> None:
    """A script's typo in a number is its own mistake to fix: a 400 naming the field,
    as a missing field gets, not a 500."""
    for method, path, kw in (
        ("GET", "/emulator/changes?since=abc", {}),
        ("GET", "/emulator/changes?since=0&wait=soon", {}),
        ("POST", "/emulator/faults", {"json": {"times": "twice"}}),
        ("POST", "/emulator/faults", {"json": {"retry_after": None}}),
    ):
        status, answer = await call(running, method, path, **kw)
        assert status == 400 and answer["ok"] is False and "must be a number" in answer["error"]
    _, pending = await call(running, "GET", "/emulator/faults")
    assert pending["faults"] == []


async def test_long_poll_wakes_up_on_a_change(running: Running) -> None:
    _, state = await call(running, "GET", "/emulator/state?user=U0PAYER")
    version = state["version"]
    path = f"/emulator/changes?since={version}&wait=10"
    waiting = asyncio.create_task(call(running, "GET", path))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await running.web_client().chat_postMessage(channel="C0GENERAL", text="news")
    _, changed = await asyncio.wait_for(waiting, 5)
    assert changed["version"] > version


async def test_a_stopping_server_answers_the_pages_long_polls_at_once(running: Running) -> None:
    """Else a page left open holds the server's shutdown (`invoicebot demo`'s Ctrl-C) for
    as long as it lets requests finish."""
    _, state = await call(running, "GET", "/emulator/state?user=U0PAYER")
    version = state["version"]
    path = f"/emulator/changes?since={version}&wait=20"
    waiting = asyncio.create_task(call(running, "GET", path))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    began = time.monotonic()
    await running.server.close()
    assert time.monotonic() - began < 2
    assert await asyncio.wait_for(waiting, 1) == (200, {"version": version})


async def test_faults_and_calls_through_the_api(running: Running) -> None:
    fault = {"method": "chat.postMessage", "times": 1, "retry_after": 3}
    status, answer = await call(running, "POST", "/emulator/faults", json=fault)
    assert status == 200 and answer["faults"][0]["remaining"] == 1
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            running.api_url + "chat.postMessage",
            json={"channel": "C0GENERAL", "text": "x"},
            headers={"Authorization": f"Bearer {running.emulator.bot_token}"},
        ) as limited,
    ):
        assert limited.status == 429 and limited.headers["Retry-After"] == "3"
    _, calls = await call(running, "GET", "/emulator/calls?method=chat.postMessage")
    assert [c["error"] for c in calls["calls"]] == ["ratelimited"]
    await call(running, "POST", "/emulator/faults", json={"times": 5})
    _, cleared = await call(running, "DELETE", "/emulator/faults")
    assert cleared["faults"] == []
    assert (await running.web_client().chat_postMessage(channel="C0GENERAL", text="x"))["ok"]


async def test_the_state_carries_text_as_the_viewer_sees_it(running: Running) -> None:
    running.clock.advance(1796186700 - running.clock.now())  # Wed 2 Dec 2026, 04:45 UTC
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Paid <!date^1796186700^{time}|x>"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "how",
                    "placeholder": {"type": "plain_text", "text": ":credit_card: Method"},
                    "options": [
                        {"text": {"type": "plain_text", "text": ":bank: Bank"}, "value": "b"}
                    ],
                }
            ],
        },
    ]
    client = running.web_client()
    await client.chat_postMessage(channel="C0GENERAL", text=":tada: <@U0ADMIN>", blocks=blocks)
    await client.chat_postMessage(channel="C0GENERAL", text="no blocks, https://x.test")
    _, state = await call(running, "GET", "/emulator/state?user=U0PAYER")
    first, second = state["channels"][0]["messages"]
    assert first["time"] == "5:45 AM"  # Amsterdam, the emulator user's zone
    assert first["blocks"][0]["text"]["html"] == "Paid 5:45 AM"
    select = first["blocks"][1]["elements"][0]
    assert select["placeholder"]["shown"] == "💳 Method"
    assert select["options"][0]["text"]["shown"] == "🏦 Bank"
    assert second["html"].startswith('no blocks, <a href="https://x.test"')


async def test_a_click_in_a_modal_carries_what_the_page_typed(
    running: Running, bolt: AsyncApp
) -> None:
    """Slack's client keeps what is typed in a modal's inputs and reports it in the
    `view.state` of a click there; the page sends it along with the click."""
    seen: list[Any] = []
    modal = {**PAY_MODAL, "blocks": [*PAY_MODAL["blocks"], BUTTONS[0]]}

    @bolt.command("/invoices")
    async def invoices(ack: AsyncAck, command: dict, client: Any) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=modal)

    @bolt.action("pay")
    async def pay(ack: AsyncAck, body: dict) -> None:
        await ack()
        seen.append(body["view"]["state"]["values"])

    body = {"user": "U0ADMIN", "channel": "C0GENERAL", "text": "/invoices settings"}
    await call(running, "POST", "/emulator/command", json=body)
    view = await running.emulator.wait_until(lambda: running.emulator.modal("U0ADMIN"))
    typed = {"amount": {"value": "500"}}
    click = {"user": "U0ADMIN", "view_id": view.id, "action_id": "pay", "values": typed}
    status, answer = await call(running, "POST", "/emulator/action", json=click)
    assert status == 200 and answer["reply"]["status"] == 200
    assert seen[0]["amount"]["value"]["value"] == "500"
    wrong = {**click, "user": "U0PAYER"}
    status, answer = await call(running, "POST", "/emulator/action", json=wrong)
    assert status == 400 and "sees no view" in answer["error"]


async def test_a_thread_reply_names_its_thread_and_the_page_draws_it_under_it(
    running: Running,
) -> None:
    """As Slack shows a channel: an approval's replies under the request, not beside it."""
    client = running.web_client()
    first = await client.chat_postMessage(channel="C0GENERAL", text="request")
    await client.chat_postMessage(channel="C0GENERAL", text="approved", thread_ts=first["ts"])
    _, state = await call(running, "GET", "/emulator/state?user=U0PAYER")
    general = next(c for c in state["channels"] if c["id"] == "C0GENERAL")
    shown = {m["text"]: m["thread_ts"] for m in general["messages"]}
    assert shown == {"request": None, "approved": first["ts"]}
    async with (
        aiohttp.ClientSession() as session,
        session.get(running.server.make_url("/emulator/page/app.js")) as page,
    ):
        assert "message.thread_ts" in await page.text()  # replies are drawn in their thread
