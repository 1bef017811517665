"""`respond()` over the app's pooled HTTP session.

Bolt's own `respond` opens a new HTTP session, and so a new connection, for every
call; under load that costs more than the rest of a command. This one has the same
call shape, reuses the connections the bot already keeps to Slack, and posts the JSON
itself: slack_sdk's webhook client rebuilds its user agent and reads the proxy
settings from the environment on every call, a fifth of the cost of a posted list.
The body is encoded with orjson: a list of invoices is a Block Kit message of about
20 KB, and the standard library's encoder took a third of the follow-up's CPU under a
steady load of commands (0.4 ms a list on a slow host, against 0.03 ms).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from bot.kit.errors import retry_after
from bot.slack.blocks.clipping import clip

RESPONSE_URL_TIMEOUT = aiohttp.ClientTimeout(total=30)
REPLACE_RETRIES = (0.5, 2.0)
"""Waits before a replacement is posted again after a 5xx or a refused connection."""
REPLACE_QUICK = 5.0
"""Seconds since the first try past which a replacement is not tried again."""
RATE_LIMITED_PATIENCE = 15.0
"""Seconds a message waits out a response_url's 429s at most, in all."""
MESSAGE_TEXT = 40_000
"""Slack's most characters in a message's top-level text (chat.postMessage cuts the
rest; a response_url may refuse the message instead)."""
REFUSED = frozenset({400, 413})
"""A response_url's answers for a message it will not show (as opposed to a URL that is
used up or expired, which would refuse a notice too)."""
REFUSED_NOTICE = (
    ":warning: Slack did not take invoicebot's answer here, so it cannot be shown. If you "
    "were paying, look at the invoice before you try again; the details are in "
    "invoicebot's log."
)

log = logging.getLogger(__name__)


class PooledRespond(AsyncRespond):
    def __init__(self, *, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(  # type: ignore[override]
        self, text: str = "", blocks: list[dict[str, Any]] | None = None, **fields: Any
    ) -> WebhookResponse:
        """One POST of the message as JSON; like slack_sdk's webhook client, an error
        status is returned, not raised. A 429 is sent again, after the wait Slack names
        (a few times, within `RATE_LIMITED_PATIENCE`): it says the message was not taken.
        A replacement is also sent again after a 5xx or a lost connection (`_attempt`);
        a new message is not (a lost answer or a 5xx may mean it was posted)."""
        assert self.response_url is not None
        if len(text) > MESSAGE_TEXT:
            text = clip(text, MESSAGE_TEXT, mrkdwn=True)
        message: dict[str, Any] = {"text": text, **fields}
        if blocks is not None:
            message["blocks"] = blocks
        given = {k: v for k, v in message.items() if v is not None}
        answer = await self._attempt(given)
        waited = 0.0
        while answer.status_code == 429 and waited < RATE_LIMITED_PATIENCE:
            wait = min(retry_after(answer.headers.get("Retry-After")) or 1.0, 10.0)
            await asyncio.sleep(wait)
            waited += wait
            answer = await self._post(given)
        if answer.status_code in REFUSED and (text or blocks):
            await self._say_refused(given, answer)
        elif answer.status_code >= 400:
            log.warning(
                "a response_url answered %s; the message may not show: %s",
                answer.status_code,
                answer.body[:200],
            )
        return answer

    async def _attempt(self, given: dict[str, Any]) -> WebhookResponse:
        """Post `given`; a replacement of the clicked message is posted again after a
        quick 5xx or a refused connection, as showing it twice shows it once. Without
        that, one 5xx left "Asking…" standing over a payment link that had been made.
        Not after a time-out, nor a slow failure: by then a later answer (the payment's
        outcome) may have replaced the message, and this one would put it back."""
        if given.get("replace_original") not in (True, "true"):
            return await self._post(given)
        began = time.monotonic()
        for wait in (*REPLACE_RETRIES, None):
            try:
                answer = await self._post(given)
            except aiohttp.ClientConnectionError as error:
                if wait is None or time.monotonic() - began > REPLACE_QUICK:
                    raise
                log.warning("a response_url could not be reached (%r); trying again", error)
            else:
                if answer.status_code < 500 or wait is None:
                    return answer
                if time.monotonic() - began > REPLACE_QUICK:
                    return answer
                log.warning("a response_url answered %s; trying again", answer.status_code)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last try returns or raises")

    async def _post(self, given: dict[str, Any]) -> WebhookResponse:
        assert self.response_url is not None
        try:
            body = orjson.dumps(given)
        except orjson.JSONEncodeError:  # what orjson refuses (a lone surrogate) goes escaped
            body = json.dumps(given).encode()
        async with self.session.post(
            self.response_url, data=body, headers=JSON, timeout=RESPONSE_URL_TIMEOUT
        ) as answer:
            said = await answer.text()
        return WebhookResponse(
            url=self.response_url,
            status_code=answer.status,
            body=said,
            headers=dict(answer.headers),
        )

    async def _say_refused(self, given: dict[str, Any], answer: WebhookResponse) -> None:
        """Slack refused the message itself (its blocks or its size): without a word the
        person would be left looking at "Asking…". A short notice takes its place, in the
        same place (replacing what the refused message would have replaced)."""
        log.warning("Slack refused an answer on a response_url: %s", answer.body[:200])
        notice: dict[str, Any] = {"text": REFUSED_NOTICE}
        for key in ("replace_original", "response_type"):
            if key in given:
                notice[key] = given[key]
        again = await self._post(notice)
        if again.status_code >= 400:
            log.warning("Slack refused the notice too: %s", again.body[:200])


JSON = {"Content-Type": "application/json;charset=utf-8"}


class DirectRespond(AsyncRespond):
    """`respond()` for clicks without a response_url (App Home): the answer goes to the
    person's messages with the app, and later answers to the same click replace it."""

    def __init__(self, *, client: AsyncWebClient, user_id: str) -> None:
        super().__init__(response_url=None)
        self.client = client
        self.user_id = user_id
        self.posted: tuple[str, str] | None = None  # (channel, ts) of this click's answer

    async def __call__(  # type: ignore[override]
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        **fields: Any,
    ) -> WebhookResponse:
        message: dict[str, Any] = {"text": text, "blocks": blocks or []}
        if self.posted and delete_original:
            await self.client.chat_delete(channel=self.posted[0], ts=self.posted[1])
            self.posted = None
        elif self.posted and replace_original:
            await self.client.chat_update(channel=self.posted[0], ts=self.posted[1], **message)
        else:
            sent = await self.client.chat_postMessage(channel=self.user_id, **message)
            self.posted = (str(sent["channel"]), str(sent["ts"]))
        return WebhookResponse(url="", status_code=200, body="ok", headers={})


class AnswerRouting(AsyncMiddleware):
    """Where a listener's `respond()` goes, decided once per request, after Bolt has
    authorized it (so a direct message speaks with the workspace's own token) and on
    every way a request reaches Bolt, HTTP and Socket Mode alike:

    - a response_url: posted over the bot's pooled connections;
    - a click in App Home (no response_url): the person's messages with the app;
    - a click on a message the whole channel reads (the digest, whose block ids start
      with `digest_prefix`): the person's messages too, as replacing it would take it
      from everyone.

    A class, not a function given to `@app.middleware`: Bolt builds a function's whole
    set of listener arguments on every request, acks included, a twentieth of an ack's
    CPU in a burst.
    """

    def __init__(self, session: aiohttp.ClientSession, digest_prefix: str) -> None:
        self.session = session
        self.digest_prefix = digest_prefix

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context
        user_id = context.user_id
        if user_id and _answers_directly(context, req.body, self.digest_prefix):
            context["respond"] = DirectRespond(client=context.client, user_id=user_id)
        elif context.response_url:
            context["respond"] = PooledRespond(
                response_url=context.response_url, session=self.session
            )
        return await next()


def _answers_directly(context: AsyncBoltContext, body: dict[str, Any], digest_prefix: str) -> bool:
    view = body.get("view") or {}
    if not context.response_url and isinstance(view, dict) and view.get("type") == "home":
        return True
    clicked = body.get("actions")
    first = clicked[0] if isinstance(clicked, list) and clicked else None
    block_id = first.get("block_id") if isinstance(first, dict) else None
    return isinstance(block_id, str) and block_id.startswith(digest_prefix)
