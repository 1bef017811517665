"""Requests to the bot's request URL, signed with the signing secret exactly as Slack does.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and waits 3 seconds for the
acknowledgement; after that the user sees `operation_timeout`. An unreachable bot or a
non-200 answer shows as `dispatch_failed`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(signing_secret: str, timestamp: int | str, body: str | bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`, Slack's request signature."""
    raw = body.encode() if isinstance(body, str) else body
    message = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(signing_secret: str, body: str, content_type: str, timestamp: int) -> dict:
    return {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(signing_secret, timestamp, body),
    }


@dataclass
class BotReply:
    """What the bot answered to one delivery, and what the user saw because of it."""

    status: int
    body: str
    error: str | None = None
    trigger_id: str | None = None
    response_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """The answer's HTTP headers (an event's `X-Slack-No-Retry`)."""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.startswith(("{", "[")) else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "error": self.error,
            "trigger_id": self.trigger_id,
            "response_url": self.response_url,
        }


class BotLink:
    """The emulator's connection to the bot: one session, one request URL, one secret."""

    def __init__(self, request_url: str, signing_secret: str, ack_timeout: float = 3.0) -> None:
        self.request_url, self.signing_secret = request_url, signing_secret
        self.ack_timeout = ack_timeout
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self, body: str, content_type: str, extra: Mapping[str, str] | None = None
    ) -> BotReply:
        """POST a signed body (with `extra` headers, such as a retry's); timeouts and
        connection failures become Slack's errors."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        headers = signed_headers(self.signing_secret, body, content_type, int(time.time()))
        headers.update(extra or {})
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with self._session.post(
                self.request_url, data=body.encode(), headers=headers, timeout=timeout
            ) as response:
                text = await response.text()
                answered = dict(response.headers)
        except TimeoutError:
            return BotReply(0, "", "operation_timeout")
        except aiohttp.ClientError:
            return BotReply(0, "", "dispatch_failed")
        error = None if response.status == 200 else "dispatch_failed"
        return BotReply(response.status, text, error, headers=answered)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
