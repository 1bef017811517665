"""Events API deliveries, with Slack's retries.

Slack gives an event 3 seconds to be answered with a 2xx. Otherwise it sends the same
body again, same `event_id`, up to 3 times: at once, after about a minute and after about
five, each with `X-Slack-Retry-Num` (1 to 3) and `X-Slack-Retry-Reason` (`http_timeout`,
`http_error`, `connection_failed`); an answer with `X-Slack-No-Retry: 1` stops them. A
timed-out delivery may still be running in the app when the retry comes. Later retries
wait on the emulator's clock: `redeliver_due` sends those whose time has come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_emulator.clock import Clock
from slack_emulator.delivery import BotLink, BotReply
from slack_emulator.payloads import JSON
from slack_emulator.workspace import Changes

RETRY_DELAYS = (0.0, 60.0, 300.0)
"""Seconds after a failed delivery that Slack sends retry 1, 2 and 3."""


@dataclass
class Delivery:
    """One attempt at delivering an event: `retry_num` 0 is the first."""

    event_id: str
    retry_num: int
    reason: str | None
    reply: BotReply


@dataclass
class _Due:
    body: str
    retry_num: int
    reason: str
    at: float


def failure(reply: BotReply, *, late: bool = False) -> str | None:
    """Slack's retry reason for this answer, or None when the event was taken."""
    if late or reply.error == "operation_timeout":
        return "http_timeout"
    if reply.status == 0:
        return "connection_failed"
    return None if 200 <= reply.status < 300 else "http_error"


def _no_retry(reply: BotReply) -> bool:
    return any(k.lower() == "x-slack-no-retry" and v == "1" for k, v in reply.headers.items())


class Events:
    """Sends events to the app and retries them as Slack does; `log` has every attempt."""

    def __init__(self, bot: BotLink, clock: Clock, changes: Changes) -> None:
        self.bot, self.clock, self.changes = bot, clock, changes
        self.log: list[Delivery] = []
        self.due: list[_Due] = []
        self.late_answers = 0
        """The next this many answers come after Slack's 3 s (a busy app, a slow network):
        the app did the work, and Slack retries as for a timeout."""

    def attempts(self, event_id: str) -> list[Delivery]:
        return [d for d in self.log if d.event_id == event_id]

    async def deliver(self, body: str) -> BotReply:
        """Send an event; the answer is the first attempt's (retries are in `log`)."""
        return await self._attempt(body, 0, None)

    async def redeliver_due(self) -> None:
        """Send the retries whose time has come."""
        now = self.clock.now()
        ready = [d for d in self.due if d.at <= now]
        self.due = [d for d in self.due if d.at > now]
        for retry in ready:
            await self._attempt(retry.body, retry.retry_num, retry.reason)

    async def _attempt(self, body: str, retry_num: int, reason: str | None) -> BotReply:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason or ""}
        reply = await self.bot.send(body, JSON, headers if retry_num else None)
        late = self.late_answers > 0
        self.late_answers -= 1 if late else 0
        self.log.append(Delivery(json.loads(body).get("event_id", ""), retry_num, reason, reply))
        self.changes.touch()
        failed = failure(reply, late=late)
        if failed is None or retry_num >= len(RETRY_DELAYS):
            return reply
        if failed != "http_timeout" and _no_retry(reply):  # a late answer is not read
            return reply
        if RETRY_DELAYS[retry_num] == 0:
            await self._attempt(body, retry_num + 1, failed)
        else:
            at = self.clock.now() + RETRY_DELAYS[retry_num]
            self.due.append(_Due(body, retry_num + 1, failed, at))
        return reply
