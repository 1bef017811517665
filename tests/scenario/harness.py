"""Drive the real bot over loopback HTTP exactly as Slack would, and watch what it sends.

The bot, a recording fake of Slack's Web API and response URLs, and the i3D sandbox all
run as real aiohttp servers on 127.0.0.1; requests are signed like Slack signs them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from yarl import URL

from tests.fake_slack import ACK_SECONDS, FakeSlack
from tests.slack_requests import interaction_body, signed_headers, slash_command_body

TEAM = "T0TEAM"
BUSY = ":hourglass_flowing_sand:"
CHANNEL = "C0GENERAL"


@dataclass
class Screen:
    """The ephemeral message a user is looking at, and the response URL that came with it
    (a click's may replace the message; a command's only posts new ones below it)."""

    message: dict[str, Any]
    response_url_id: str


@dataclass
class Harness:
    bot: TestServer
    slack: FakeSlack
    slack_server: TestServer
    secret: str
    http: aiohttp.ClientSession
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def response_url(self) -> tuple[str, str]:
        key = f"r{next(self.ids)}"
        self.slack.issued[key] = self.slack.clock()  # good for 30 minutes from now
        return key, str(self.slack_server.make_url(f"/hooks/{key}"))

    async def post(self, body: str) -> tuple[int, dict[str, Any] | str, float]:
        started = time.perf_counter()
        async with self.http.post(
            self.bot.make_url("/slack/events"), data=body, headers=signed_headers(self.secret, body)
        ) as response:
            text = await response.text()
            elapsed = time.perf_counter() - started
        try:
            answer: dict[str, Any] | str = json.loads(text)
        except ValueError:
            answer = text
        if elapsed > ACK_SECONDS:  # Slack stopped waiting: the person saw a timeout
            self.slack.refused.append(("ack", [f"operation_timeout after {elapsed:.1f} s"]))
        elif response.status == 200:  # what Slack would refuse of it is kept in `refused`
            self.slack.check_answer(body, answer)
        return response.status, answer, elapsed

    async def wait_for(self, check: Callable[[], Any], within: float = 10.0) -> Any:
        """Poll `check` until it is truthy; fail at once if Slack refused anything, or
        posted anew what the bot meant to replace a command's reply with."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert not self.slack.refused, f"Slack refused: {self.slack.refused}"
            assert not self.slack.posted_anew, f"not replaced: {self.slack.posted_anew}"
            result = check()
            if result:
                return result
            await asyncio.sleep(0.02)
        raise AssertionError(f"gave up waiting after {within} s")

    def answers(self, key: str) -> list[dict[str, Any]]:
        """What was posted to a response URL, less the "Asking …" notes shown meanwhile."""
        return [
            body
            for body in self.slack.responses.get(key, [])
            if not str(body.get("text", "")).startswith(BUSY)
        ]

    async def next_response(self, key: str, count: int = 1) -> dict[str, Any]:
        """The `count`-th answer on a response URL (progress notes are not answers)."""
        bodies = await self.wait_for(lambda: len(self.answers(key)) >= count and self.answers(key))
        return bodies[count - 1]

    async def command(
        self, text: str, user: str = "U0PAYER"
    ) -> tuple[dict[str, Any] | str, Screen, float]:
        """Type `/invoices <text>`: the ack, and a screen of it whose response URL's
        answers come as new messages below it (Slack cannot replace a command's reply)."""
        key, url = self.response_url()
        self.slack.command_hooks.add(key)
        trigger = self.slack.issue_trigger(user)
        status, ack, elapsed = await self.post(
            slash_command_body(text, user_id=user, response_url=url, trigger_id=trigger)
        )
        assert status == 200, ack
        refused = [problems for method, problems in self.slack.refused if method == "ack"]
        assert not refused, f"Slack would not show the command's answer: {refused}"
        return ack, Screen(ack if isinstance(ack, dict) else {}, key), elapsed

    async def screen_after(self, screen: Screen, count: int = 1) -> Screen:
        return Screen(
            await self.next_response(screen.response_url_id, count), screen.response_url_id
        )

    async def click(
        self,
        screen: Screen,
        action_id: str,
        *,
        user: str = "U0PAYER",
        pick: Callable[[dict[str, Any]], bool] = lambda element: True,
        selected: str | list[str] | None = None,
        value: str | None = None,
        block_id: str | None = None,
        state: dict[str, dict[str, Any]] | None = None,
        untouched_in_state: bool = True,
    ) -> str:
        """Click (or select in) an element of the screen; returns the new response URL key.

        `untouched_in_state=False`: the other selects' initial options are left out of the
        state, as Slack at times leaves them (python-slack-sdk #1350)."""
        found_block, element = find(screen.message, action_id, pick)
        block_id = block_id or found_block["block_id"]
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        state = dict(state or {})
        if element["type"] == "button":
            action["value"] = element.get("value", "") if value is None else value
        elif element["type"] == "static_select":
            option = next(o for o in element["options"] if o["value"] == selected)
            action["selected_option"] = option
            state = {block_id: {action_id: {"type": "static_select", "selected_option": option}}}
        elif element["type"] == "checkboxes":
            wanted = selected if isinstance(selected, list) else [selected]
            action["selected_options"] = [o for o in element["options"] if o["value"] in wanted]
        for block in screen.message.get("blocks", []) if untouched_in_state else []:
            for other in block.get("elements", []):
                if other.get("type") == "static_select" and other.get("initial_option"):
                    state.setdefault(block["block_id"], {}).setdefault(
                        other["action_id"],
                        {"type": "static_select", "selected_option": other["initial_option"]},
                    )
        key, url = self.response_url()
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0INVOICEBOT",
            "token": "legacy-unused",
            "container": {
                "type": "message",
                "message_ts": "1.1",
                "channel_id": CHANNEL,
                "is_ephemeral": True,
            },
            "trigger_id": self.slack.issue_trigger(user),
            "team": {"id": TEAM, "domain": "acme"},
            "channel": {"id": CHANNEL, "name": "general"},
            # Slack leaves the message out of a click on an ephemeral one (the emulator too)
            "response_url": url,
            "state": {"values": state},
            "actions": [action],
        }
        status, body, _ = await self.post(interaction_body(payload))
        assert status == 200, body
        return key

    async def submit_email(self, user: str, target: str) -> tuple[int, dict[str, Any] | str]:
        """Submit a Send by e-mail dialog for `target` (a PayTarget value), typed empty."""
        view = self.slack.show_modal(
            user,
            {
                "type": "modal",
                "callback_id": "send_email",
                "private_metadata": json.dumps({"target": target}),
            },
        )
        payload = {
            "type": "view_submission",
            "trigger_id": self.slack.issue_trigger(user),
            "user": {"id": user},
            "team": {"id": TEAM},
            "view": {**view, "state": {"values": {}}},
        }
        status, body, _ = await self.post(interaction_body(payload))
        return status, body


def find(
    message: dict[str, Any], action_id: str, pick: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks", []):
        elements = list(block.get("elements", []))
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id and pick(element):
                return block, element
    raise AssertionError(f"no {action_id} element on screen: {json.dumps(message)[:2000]}")


def text_of(message: dict[str, Any]) -> str:
    """All the text a person would read in a message."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [
            e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)
        ]
    return "\n".join(parts)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "fields": [], "buttons": []})
        elif tag == "input" and self.forms and attributes.get("type") == "hidden":
            self.forms[-1]["fields"].append((attributes["name"], attributes.get("value", "")))
        elif tag == "button" and self.forms and attributes.get("name"):
            self.forms[-1]["buttons"].append((attributes["name"], attributes.get("value", "")))


def forms_in(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


async def pay_in_browser(
    http: aiohttp.ClientSession, pay_url: str, decision: str = "pay", *, come_back: bool = True
) -> tuple[str, str]:
    """What a payer's browser does: open our link, auto-submit to the PSP, decide, come back.

    Returns the final URL and the page it shows; with `come_back=False` the browser is
    closed on the provider's page, and the URL is where it would have gone.
    """
    async with http.get(pay_url) as response:
        assert response.status == 200, await response.text()
        (form,) = forms_in(await response.text())
    async with http.post(form["action"], data=form["fields"]) as response:
        assert response.status == 200, await response.text()
        page_url = response.url
        (choice,) = forms_in(await response.text())
    action = str(page_url.join(URL(choice["action"])))
    fields = [*choice["fields"], next(b for b in choice["buttons"] if b[1] == decision)]
    async with http.post(action, data=fields, allow_redirects=come_back) as response:
        if not come_back:
            return response.headers["Location"], ""
        return str(response.url), await response.text()


async def answering(port: int, within: float = 20.0) -> None:
    """Until a real `invoicebot run` on this port answers /healthz (AssertionError if not)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(int(within / 0.05)):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("invoicebot run never answered /healthz")
