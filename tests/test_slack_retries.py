"""A listener's Slack call waits out a short rate limit only while the request it serves
can still be answered: a trigger_id dies 3 s after Slack sent it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack import responses
from bot.slack.app import ANSWER_BY, QuickRateLimitRetry
from bot.slack.responses import PooledRespond

REQUEST = HttpRequest(method="POST", url="https://slack.com/api/usergroups.list", headers={})


def limited(retry_after: str) -> HttpResponse:
    return HttpResponse(status_code=429, headers={"Retry-After": [retry_after]}, data=b"")


async def may_retry(response: HttpResponse) -> bool:
    handler = QuickRateLimitRetry(max_retry_count=2)
    return await handler.can_retry_async(state=RetryState(), request=REQUEST, response=response)


async def test_a_short_wait_is_waited_out_only_while_the_request_can_still_be_answered() -> None:
    assert await may_retry(limited("1"))  # no deadline: outside a request (the outbox)
    token = ANSWER_BY.set(time.monotonic() + 2.5)
    try:
        assert await may_retry(limited("1"))  # a fresh request has the time
        assert not await may_retry(limited("2"))  # longer than any listener waits
    finally:
        ANSWER_BY.reset(token)
    token = ANSWER_BY.set(time.monotonic() + 1.2)  # a second limit, after the first wait
    try:
        assert not await may_retry(limited("1"))
    finally:
        ANSWER_BY.reset(token)


async def test_the_wait_is_slacks_with_little_jitter() -> None:
    handler = QuickRateLimitRetry(max_retry_count=2)
    state = RetryState()
    began = time.monotonic()
    await handler.prepare_for_next_attempt_async(
        state=state, request=REQUEST, response=limited("0")
    )
    assert time.monotonic() - began < 0.3 and state.current_attempt == 1


async def test_a_replacement_is_tried_again_after_a_quick_5xx_only(
    aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing a replacement twice shows it once, so a quick 5xx is tried again; a slow
    one is not, as a later answer may have replaced the message meanwhile. A new
    message is never tried again: it may have been posted."""
    answers: list[float] = []
    slow = {"seconds": 0.0}

    async def hook(request: web.Request) -> web.Response:
        answers.append(time.monotonic())
        await asyncio.sleep(slow["seconds"])
        return web.Response(status=500 if len(answers) < 2 else 200, text="x")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    monkeypatch.setattr(responses, "REPLACE_RETRIES", (0.01, 0.01))
    async with aiohttp.ClientSession() as session:
        respond = PooledRespond(response_url=str(server.make_url("/hook")), session=session)
        assert (await respond("list", replace_original=True)).status_code == 200
        assert len(answers) == 2
        answers.clear()
        await respond("new")
        assert len(answers) == 1
        answers.clear()
        monkeypatch.setattr(responses, "REPLACE_QUICK", 0.05)
        slow["seconds"] = 0.1
        assert (await respond("list", replace_original=True)).status_code == 500
        assert len(answers) == 1
