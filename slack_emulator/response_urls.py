"""response_url endpoints (`POST /hooks/{id}`) with Slack's rules.

Each slash command and message interaction gets its own URL, good for 5 uses within 30
minutes. A body is shown ephemerally by default, in the channel with `in_channel`;
`replace_original` replaces the message the interaction came from and `delete_original`
deletes it. A slash command's URL cannot change the command's own reply, as in Slack:
`replace_original` there posts a new message, and `delete_original` finds nothing. Refusals are JSON
`{"ok": false, "error": ...}`: 404 `expired_url`/`used_url`, 400 for a bad body.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from slack_emulator.calls import SlackError, slack_json
from slack_emulator.chat_methods import message_content
from slack_emulator.clock import Clock
from slack_emulator.workspace import BOT_ID, BOT_USER_ID, Message, Workspace

MAX_USES = 5
LIFETIME_SECONDS = 30 * 60
ACK_WAIT_SECONDS = 5.0


@dataclass
class Hook:
    """One response_url: who it answers, where, and which message it may replace."""

    id: str
    user_id: str
    channel_id: str
    created_at: float
    source: Message | None = None
    from_command: bool = False
    uses: int = 0
    # `time.monotonic()` when the first POST was accepted (the same clock as every other
    # process on the machine), so a benchmark can time command-to-answer.
    first_used_at: float | None = None
    # Set once the acknowledgement of the request that issued this URL has been shown, so
    # a `respond()` racing its own ack replaces the ack's message instead of overtaking it.
    acked: asyncio.Event = field(default_factory=asyncio.Event)


def _flag(value: object) -> bool:
    return value is True or value == "true"


class ResponseUrls:
    """Issues response_urls and answers the bot's POSTs to them."""

    def __init__(self, workspace: Workspace, clock: Clock) -> None:
        self.workspace, self.clock = workspace, clock
        self.hooks: dict[str, Hook] = {}

    def issue(
        self, user_id: str, channel_id: str, *, source: Message | None = None,
        from_command: bool = False, acked: bool = True,
    ) -> Hook:  # fmt: skip
        """A new response_url; with `acked=False` it holds POSTs until `hook.acked` is set."""
        hook = Hook(secrets.token_urlsafe(12), user_id, channel_id, self.clock.now())
        hook.source, hook.from_command = source, from_command
        if acked:
            hook.acked.set()
        self.hooks[hook.id] = hook
        return hook

    async def handle(self, request: web.Request) -> web.Response:
        hook = self.hooks.get(request.match_info["id"])
        try:
            if hook is None:
                raise SlackError("no_service", status=404)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hook.acked.wait(), ACK_WAIT_SECONDS)
            if self.clock.now() - hook.created_at > LIFETIME_SECONDS:
                raise SlackError("expired_url", status=404)
            if hook.uses >= MAX_USES:
                raise SlackError("used_url", status=404)
            try:
                payload = await request.json(loads=slack_json)
            except ValueError:
                raise SlackError("invalid_payload", status=400) from None
            if not isinstance(payload, dict):
                raise SlackError("invalid_payload", status=400)
            self.respond(hook, payload)
        except SlackError as refused:
            return web.json_response(refused.body(), status=refused.status)
        hook.uses += 1
        if hook.first_used_at is None:
            hook.first_used_at = time.monotonic()
        return web.json_response({"ok": True})

    def respond(self, hook: Hook, payload: dict) -> Message | None:
        """Show a response as Slack would; raises SlackError for what Slack refuses."""
        ws = self.workspace
        source = None if hook.from_command else hook.source
        if source is not None and ws.find(source.ts, viewer=hook.user_id) is not source:
            source = None
        if _flag(payload.get("delete_original")):
            if source is None:
                raise SlackError("message_not_found", status=404)
            ws.delete(source)
            hook.source = None
            return None
        try:
            text, blocks, _ = message_content(payload)
        except SlackError as refused:
            raise SlackError(refused.error, status=400, **refused.details) from None
        if _flag(payload.get("replace_original")) and not hook.from_command:
            if source is None:
                raise SlackError("message_not_found", status=404)
            ws.replace(source, text, blocks)
            return source
        in_channel = payload.get("response_type") == "in_channel"
        shown = ws.post(
            hook.channel_id, text, blocks, user=BOT_USER_ID, bot_id=BOT_ID,
            ephemeral_to=None if in_channel else hook.user_id, thread_ts=payload.get("thread_ts"),
        )  # fmt: skip
        return shown


def add_routes(app: web.Application, *workspaces: ResponseUrls) -> None:
    """One route for the response_urls of every workspace served here."""

    async def handle(request: web.Request) -> web.Response:
        hook_id = request.match_info["id"]
        chosen = next((r for r in workspaces if hook_id in r.hooks), workspaces[0])
        return await chosen.handle(request)

    app.router.add_post("/hooks/{id}", handle)
