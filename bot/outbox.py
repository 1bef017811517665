"""Sends queued Slack calls until Slack takes them: the confirmation is never lost.

Rows are written in the same transaction as the state change they announce; this
sender retries 429 (after `Retry-After`), 5xx and network errors with backoff, gives up
only on errors that retrying cannot fix, and picks up where it left off after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import OutboxItem, Store

log = logging.getLogger(__name__)

RESPONSE_URL = "response_url"
"""Pseudo-method: POST `args["body"]` to `args["url"]` (a Slack response_url)."""

# Slack errors that will not go away by asking again.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "used_url",
        "expired_url",
    }
)


class Retry(Exception):
    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class GiveUp(Exception):
    pass


class OutboxSender:
    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        http: aiohttp.ClientSession,
        *,
        first_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.store = store
        self.client = client
        self.http = http
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.wake = asyncio.Event()

    async def _call(self, item: OutboxItem) -> None:
        if item.method == RESPONSE_URL:
            await self._post_response_url(item.args["url"], item.args["body"])
            return
        try:
            await self.client.api_call(item.method, json=item.args)
        except SlackApiError as error:
            status = error.response.status_code
            code = str(error.response.get("error", ""))
            if status == 429:
                after = float(error.response.headers.get("Retry-After", self.first_delay))
                raise Retry("ratelimited", after) from None
            if status >= 500:
                raise Retry(f"Slack answered {status}") from None
            if code in PERMANENT_ERRORS:
                raise GiveUp(code) from None
            raise Retry(code or f"Slack answered {status}") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Retry(f"network: {error!r}") from None

    async def _post_response_url(self, url: str, body: dict[str, object]) -> None:
        try:
            async with self.http.post(url, json=body) as response:
                text = await response.text()
                if response.status == 429:
                    raise Retry("ratelimited", float(response.headers.get("Retry-After", 1)))
                if response.status >= 500:
                    raise Retry(f"response_url answered {response.status}")
                if response.status >= 400:
                    raise GiveUp(f"response_url answered {response.status}: {text[:200]}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Retry(f"network: {error!r}") from None

    async def send_due(self) -> int:
        """Try every item that is due; return how many Slack accepted."""
        sent = 0
        for item in self.store.due_outbox(time.time()):
            try:
                await self._call(item)
            except Retry as retry:
                delay = retry.after or min(self.max_delay, self.first_delay * 2**item.attempts)
                log.info("Slack call %s will be retried in %.1f s: %s", item.key, delay, retry)
                self.store.outbox_retry(item.id, str(retry), time.time() + delay)
            except GiveUp as error:
                log.error("Slack refused %s for good: %s", item.key, error)
                self.store.outbox_give_up(item.id, str(error))
            else:
                self.store.outbox_sent(item.id)
                sent += 1
        return sent

    async def run_forever(self, tick: float = 1.0) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                log.exception("outbox round failed; trying again")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), tick)
