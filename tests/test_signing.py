"""Slack request signatures: Slack's official test vector, and the app's door over HTTP."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.signature import Clock, SignatureVerifier

from bot.web import BOLT
from tests.conftest import SIGNING_SECRET
from tests.fake_slack import FakeSlack
from tests.slack_requests import sign, signed_headers, slash_command_body

# Slack's documented example (docs.slack.dev, "Verifying requests from Slack").
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = 1531420618
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_official_vector_signs_as_slack_does() -> None:
    assert sign(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_official_vector_passes_slacks_own_verifier_within_the_window_only() -> None:
    fresh = SignatureVerifier(VECTOR_SECRET, clock=FrozenClock(VECTOR_TIMESTAMP + 10))
    assert fresh.is_valid(VECTOR_BODY, str(VECTOR_TIMESTAMP), VECTOR_SIGNATURE)
    stale = SignatureVerifier(VECTOR_SECRET, clock=FrozenClock(VECTOR_TIMESTAMP + 301))
    assert not stale.is_valid(VECTOR_BODY, str(VECTOR_TIMESTAMP), VECTOR_SIGNATURE)
    tampered = VECTOR_BODY.replace("roadrunner", "coyote")
    assert not fresh.is_valid(tampered, str(VECTOR_TIMESTAMP), VECTOR_SIGNATURE)


async def _post(server: TestServer, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.make_url("/slack/events"), data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_signed_command_is_answered(
    bot_server: TestServer, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    body = slash_command_body("help")
    status, text = await _post(bot_server, body, signed_headers(SIGNING_SECRET, body))
    assert status == 200
    assert "/invoices help" in text
    fake, _ = fake_slack
    assert len(fake.called("auth.test")) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param(-301, id="stale"),
        pytest.param(+301, id="from-the-future"),
    ],
)
async def test_unverifiable_requests_are_refused(
    bot_server: TestServer, headers: object, fake_slack: tuple[FakeSlack, TestServer]
) -> None:
    body = slash_command_body("help")
    if headers == "wrong-secret":
        headers = signed_headers("not-the-secret", body)
    elif isinstance(headers, int):
        headers = signed_headers(SIGNING_SECRET, body, int(time.time()) + headers)
    assert isinstance(headers, dict)
    status, text = await _post(bot_server, body, headers)
    assert status == 401
    assert "/invoices help" not in text
    fake, _ = fake_slack
    assert fake.calls == []


async def test_body_changed_after_signing_is_refused(bot_server: TestServer) -> None:
    body = slash_command_body("help")
    headers = signed_headers(SIGNING_SECRET, body)
    status, _ = await _post(bot_server, body.replace("U0PAYER", "U0ADMIN"), headers)
    assert status == 401


async def test_slack_can_check_the_request_url_of_a_single_workspace_bot(
    bot_server: TestServer,
) -> None:
    body = json.dumps({"token": "x", "challenge": "c-456", "type": "url_verification"})
    headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/json"}
    status, text = await _post(bot_server, body, headers)
    assert status == 200 and "c-456" in text


async def test_slacks_notice_that_it_holds_back_events_is_taken_and_logged(
    bot_server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """It has no inner event for a listener (Bolt alone answers 404), and Slack may turn
    an app's events off when over 5% of its deliveries in an hour are not answered 200."""
    notice = {
        "token": "x",
        "type": "app_rate_limited",
        "team_id": "T0TEAM",
        "minute_rate_limited": 1518467820,
        "api_app_id": "A0APP",
    }
    body = json.dumps(notice)
    headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/json"}
    status, _ = await _post(bot_server, body, headers)
    assert status == 200
    assert "holding back this app's events from workspace T0TEAM" in caplog.text


def test_requests_pass_only_the_bolt_middleware_the_bot_relies_on(bot_server: TestServer) -> None:
    """Each one costs every request, acks included: the signature and Slack's certificate
    check are the door's (`intake`); where a listener answers is chosen by a middleware
    object, which Bolt calls without building a listener's arguments for it."""
    bolt = bot_server.app[BOLT]
    kinds = [type(middleware).__name__ for middleware in bolt._async_middleware_list]
    assert kinds == ["AsyncSingleTeamAuthorization", "AsyncUrlVerification", "AnswerRouting"]
