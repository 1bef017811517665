"""Events are retried as Slack retries them: an answer later than 3 s, an error status or
no answer at all brings the same event again, at once, after a minute and after five,
with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from tests.emulator.conftest import SIGNING_SECRET, Running

PAYER = "U0PAYER"


@dataclass
class App:
    """Stands in for the app at its request URL: answers as told, remembers what came."""

    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)
    no_retry: bool = False
    got: list[tuple[dict[str, str], dict]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
        self.got.append((headers, json.loads(body)))
        await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        refusing = {"X-Slack-No-Retry": "1"} if self.no_retry else {}
        return web.Response(status=status, headers=refusing)

    def retries(self) -> list[tuple[str | None, str | None]]:
        return [(h.get("X-Slack-Retry-Num"), h.get("X-Slack-Retry-Reason")) for h, _ in self.got]


@pytest.fixture
async def app(running: Running) -> AsyncIterator[App]:
    stand_in = App()
    served = web.Application()
    served.router.add_post("/slack/events", stand_in.handle)
    server = TestServer(served, host="127.0.0.1", port=running.bot_port)
    await server.start_server()
    try:
        yield stand_in
    finally:
        await server.close()


async def attempts(running: Running, count: int) -> None:
    await running.emulator.wait_until(lambda: len(running.emulator.events.log) >= count, 5)


async def test_an_answer_in_time_is_delivered_once(running: Running, app: App) -> None:
    reply = await running.emulator.open_home(PAYER)
    assert reply.status == 200
    assert app.retries() == [(None, None)]
    assert not running.emulator.events.due


async def test_a_slow_answer_is_retried_at_once_after_a_minute_and_after_five(
    running: Running, app: App
) -> None:
    emulator, clock = running.emulator, running.clock
    emulator.bot.ack_timeout, app.delay = 0.2, 0.4
    reply = await emulator.open_home(PAYER)
    assert reply.error == "operation_timeout"
    assert app.retries() == [(None, None), ("1", "http_timeout")]
    clock.advance(59)
    await asyncio.sleep(0.7)
    assert len(emulator.events.log) == 2  # not yet: a minute after the first retry
    clock.advance(1)
    await attempts(running, 3)
    clock.advance(300)
    await attempts(running, 4)
    clock.advance(3600)
    await asyncio.sleep(0.7)
    assert app.retries()[2:] == [("2", "http_timeout"), ("3", "http_timeout")]
    ids = {body["event_id"] for _, body in app.got}
    assert len(ids) == 1 and len(emulator.events.log) == 4  # the same event, four times at most


async def test_an_error_status_is_retried_until_answered(running: Running, app: App) -> None:
    app.statuses = [500, 404]
    await running.emulator.open_home(PAYER)
    assert app.retries() == [(None, None), ("1", "http_error")]
    running.clock.advance(60)
    await attempts(running, 3)
    assert app.retries()[2] == ("2", "http_error")
    running.clock.advance(3600)
    await asyncio.sleep(0.7)
    assert len(app.got) == 3  # the third attempt was answered 200


async def test_no_retry_header_stops_retries_after_an_error(running: Running, app: App) -> None:
    app.statuses, app.no_retry = [500], True
    await running.emulator.open_home(PAYER)
    assert app.retries() == [(None, None)]
    assert not running.emulator.events.due


async def test_an_answer_that_came_late_is_retried_though_the_app_did_the_work(
    running: Running, app: App
) -> None:
    running.emulator.events.late_answers = 1
    await running.emulator.open_home(PAYER)
    assert app.retries() == [(None, None), ("1", "http_timeout")]
    assert [d.reply.status for d in running.emulator.events.log] == [200, 200]


async def test_an_unreachable_app_is_retried_with_connection_failed(running: Running) -> None:
    reply = await running.emulator.open_home(PAYER)
    assert reply.error == "dispatch_failed"
    log = running.emulator.events.log
    assert [(d.retry_num, d.reason) for d in log] == [(0, None), (1, "connection_failed")]
    assert [d.retry_num for d in running.emulator.events.due] == [2]
