"""The emulator signs what it sends the bot exactly as Slack does."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from slack_emulator import Emulator, sign

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_reproduces_slacks_official_test_vector() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
        "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
        "0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        "d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign(SECRET, 1531420618, body) == expected


class Captured:
    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((await request.read(), dict(request.headers)))
        return web.Response(text="")


@pytest.fixture
async def captured() -> AsyncIterator[tuple[Captured, str]]:
    sink = Captured()
    app = web.Application()
    app.router.add_post("/slack/events", sink.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield sink, str(server.make_url("/slack/events"))
    finally:
        await server.close()


async def test_slash_commands_pass_slack_sdks_verifier_and_tampering_fails(
    captured: tuple[Captured, str],
) -> None:
    sink, url = captured
    emulator = Emulator(request_url=url, signing_secret=SECRET, bot_token="xoxb-1")
    emulator.public_url = "http://127.0.0.1:1"
    try:
        reply = await emulator.slash_command("U0PAYER", "C0GENERAL", "list open")
    finally:
        await emulator.close()
    assert reply.status == 200
    ((body, headers),) = sink.requests
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    timestamp = headers["X-Slack-Request-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    tampered = body.replace(b"list+open", b"list+paid")
    assert tampered != body
    assert not verifier.is_valid(tampered, timestamp, headers["X-Slack-Signature"])
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    form = parse_qs(body.decode())
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["command"] == ["/invoices"] and form["text"] == ["list open"]
    assert form["user_id"] == ["U0PAYER"] and form["channel_name"] == ["general"]
    expected_fields = {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    }  # fmt: skip
    assert set(form) | {"text"} == expected_fields
    assert form["response_url"][0].startswith("http://127.0.0.1:1/hooks/")


async def test_interactions_and_events_are_signed_too(captured: tuple[Captured, str]) -> None:
    sink, url = captured
    emulator = Emulator(request_url=url, signing_secret=SECRET, bot_token="xoxb-1")
    emulator.public_url = "http://127.0.0.1:1"
    button = {"type": "button", "text": {"type": "plain_text", "text": "Pay"}, "action_id": "pay"}
    message = emulator.workspace.post(
        "C0GENERAL",
        "Pay?",
        [{"type": "actions", "block_id": "b", "elements": [button]}],
        user="U0BOT",
    )
    try:
        await emulator.click("U0PAYER", message, "pay")
        await emulator.open_home("U0PAYER")
    finally:
        await emulator.close()
    verifier = SignatureVerifier(SECRET)
    assert len(sink.requests) == 2
    for body, headers in sink.requests:
        assert verifier.is_valid_request(body, headers)
    assert sink.requests[0][0].startswith(b"payload=")
    assert sink.requests[1][1]["Content-Type"] == "application/json"
