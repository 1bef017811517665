"""The Web API wire: `POST|GET /api/{method}` as slack_sdk's AsyncWebClient calls it.

Arguments may come as JSON (chat.*, views.*), as a form (auth.test, conversations.open) or
as a query string (users.info, conversations.info/members, usergroups.users.list);
`blocks` and `view` sent inside a form are JSON strings. Refusals use HTTP 200 with
`{"ok": false, "error": ...}` like Slack; only injected faults use 429 or 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from slack_emulator.calls import ApiCall, SlackError, slack_json
from slack_emulator.chat_methods import (
    CHAT_METHODS,
    history,
    history_scope,
    post_message,
    replies,
)
from slack_emulator.directory_methods import DIRECTORY_METHODS, SCOPES
from slack_emulator.files import FILE_METHODS, UPLOAD_PATH, receive_upload
from slack_emulator.modals import Surfaces
from slack_emulator.view_methods import VIEW_METHODS
from slack_emulator.workspace import Workspace

if TYPE_CHECKING:
    from slack_emulator.client import Emulator

Args = dict[str, Any]
Method = Callable[[Workspace, Surfaces, Args], Args]
METHODS: dict[str, Method] = {**DIRECTORY_METHODS, **CHAT_METHODS, **VIEW_METHODS}
ACK_ORDER_SECONDS = 5.0
_JSON_ARGS = {"blocks": "invalid_blocks_format", "attachments": "invalid_attachments"}


FORM_ONLY = frozenset(
    {
        "conversations.history",
        "conversations.replies",
        "conversations.info",
        "conversations.list",
        "conversations.members",
        "users.info",
        "users.list",
        "usergroups.list",
        "usergroups.users.list",
        "chat.getPermalink",
    }
)
"""Read methods Slack takes only as query or form arguments: a JSON body is ignored
("most write methods allow application/json"; the read ones do not)."""

POSTS_PER_SECOND = 1.0
POST_BURST = 3
"""chat.postMessage: about one message per second per channel, a short burst allowed."""

PER_MINUTE = {
    "chat.update": 50,
    "chat.delete": 50,
    "chat.postEphemeral": 100,
    "views.open": 100,
    "views.update": 100,
    "views.push": 100,
    "views.publish": 100,
    "users.info": 100,
    "users.list": 20,
    "conversations.info": 50,
    "conversations.list": 20,
    "conversations.members": 100,
    "conversations.join": 50,
    "conversations.open": 50,
    "conversations.history": 50,
    "conversations.replies": 50,
    "usergroups.list": 20,
    "usergroups.users.list": 20,
    "files.getUploadURLExternal": 100,
    "files.completeUploadExternal": 100,
}
"""Calls a minute per method and workspace that Slack's tiers promise (T2 20, T3 50, T4
100; reference/slack.md §4): Slack may allow more, never fewer, so the emulator allows
exactly these, as a minute's worth at once and then at their pace."""


HISTORY_METHODS = ("conversations.history", "conversations.replies")
DISTRIBUTED_HISTORY = (1, 15)
"""conversations.history and .replies for an app installed by OAuth (commercially
distributed, outside Slack's Marketplace, reference/slack.md §4): one call a minute, at
most 15 messages each."""


async def read_args(request: web.Request, method: str = "") -> Args:
    """Query parameters plus a JSON or form body, with JSON-string arguments decoded."""
    args: Args = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json" and method in FORM_ONLY:
            pass  # Slack ignores it: the method sees no arguments from the body
        elif request.content_type == "application/json":
            try:
                body = await request.json(loads=slack_json)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name, error in {**_JSON_ARGS, "view": "invalid_arguments"}.items():
        if isinstance(args.get(name), str):
            try:
                args[name] = slack_json(args[name])
            except ValueError:
                raise SlackError(error) from None
    return args


class WebApi:
    """Answers the bot's Web API calls from the emulator's state and records each one."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._posts: dict[str, tuple[float, float]] = {}  # channel: (tokens, at)
        self._tiers: dict[tuple[str, str], tuple[float, float]] = {}  # (team, method)

    def _tier_wait(self, team_id: str, method: str) -> float:
        """0 when `method` may be called now within its tier, else the seconds until it
        may (Slack's Retry-After)."""
        per_minute = PER_MINUTE.get(method)
        if method in HISTORY_METHODS and self.emulator.oauth is not None:
            per_minute = DISTRIBUTED_HISTORY[0]
        if per_minute is None:
            return 0.0
        now, rate = self.emulator.clock.now(), per_minute / 60.0
        tokens, at = self._tiers.get((team_id, method), (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * rate)
        if tokens < 1:
            self._tiers[(team_id, method)] = (tokens, now)
            return (1 - tokens) / rate
        self._tiers[(team_id, method)] = (tokens - 1, now)
        return 0.0

    def _post_allowed(self, channel: str) -> bool:
        """A token bucket per channel, as Slack paces chat.postMessage."""
        now = self.emulator.clock.now()
        tokens, at = self._posts.get(channel, (float(POST_BURST), now))
        tokens = min(float(POST_BURST), tokens + (now - at) * POSTS_PER_SECOND)
        if tokens < 1:
            self._posts[channel] = (tokens, now)
            return False
        self._posts[channel] = (tokens - 1, now)
        return True

    async def handle(self, request: web.Request) -> web.Response:
        emulator = self.emulator
        method = request.match_info["method"]
        args: Args = {}
        headers: dict[str, str] = {}
        status = 200
        try:
            args = await read_args(request, method)
            installing = method == "oauth.v2.access" and emulator.oauth is not None
            scopes: frozenset[str] | None = None
            if not installing:  # oauth.v2.access authenticates with the app's client id
                emulator, scopes = self._authenticate(request, args)
                needed = SCOPES.get(method)
                if method in HISTORY_METHODS:
                    needed = history_scope(emulator.workspace, args)
                if needed and scopes is not None and needed not in scopes:
                    provided = ",".join(sorted(scopes))
                    raise SlackError("missing_scope", needed=needed, provided=provided)
            fault = emulator.faults.take(method)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
                error = "ratelimited" if fault.status == 429 else "internal_error"
                raise SlackError(error, status=fault.status)
            implementation = METHODS.get(method)
            if method == "chat.postMessage":
                public_too = scopes is None or "chat:write.public" in scopes
                implementation = functools.partial(post_message, public_too=public_too)
            if method in HISTORY_METHODS and self.emulator.oauth is not None:
                read = replies if method == "conversations.replies" else history
                implementation = functools.partial(read, most=DISTRIBUTED_HISTORY[1])
            if installing and emulator.oauth is not None:
                body = emulator.oauth.access(args, request.headers.get("Authorization", ""))
            elif implementation is None and method not in FILE_METHODS:
                raise SlackError("unknown_method", req_method=method)
            else:
                ref = str(args.get("channel") or "")
                found = emulator.workspace.resolve_channel(ref)  # U… and D… are one DM
                channel = f"{emulator.workspace.team_id}/{found.id if found else ref}"
                if method == "chat.postMessage" and not self._post_allowed(channel):
                    headers = {"Retry-After": "1"}
                    raise SlackError("ratelimited", status=429)
                wait = self._tier_wait(emulator.workspace.team_id, method)
                if wait:
                    headers = {"Retry-After": str(math.ceil(wait))}
                    raise SlackError("ratelimited", status=429)
                if method.startswith("views."):
                    await self._after_pending_submissions()
                body = (
                    FILE_METHODS[method](emulator, args)
                    if implementation is None
                    else implementation(emulator.workspace, emulator.surfaces, args)
                )
        except SlackError as refused:
            body, status = refused.body(), refused.status
        warnings = list(body.get("response_metadata", {}).get("warnings", [])) if body["ok"] else []
        emulator.calls.append(
            ApiCall(
                method,
                args,
                emulator.clock.now(),
                status,
                body["ok"],
                body.get("error"),
                body,
                warnings,
            )
        )
        emulator.workspace.changes.touch()  # waiters may be watching the call log
        return web.json_response(body, status=status, headers=headers)

    async def _after_pending_submissions(self) -> None:
        """Slack applies a view_submission's ack before later views.* calls from the app."""
        for applied in list(self.emulator.surfaces.submitting.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(applied.wait(), ACK_ORDER_SECONDS)

    def _authenticate(
        self, request: web.Request, args: Args
    ) -> tuple[Emulator, frozenset[str] | None]:
        """The workspace the token speaks for and the scopes it was granted (None: every
        scope): the bot token given at start, or one issued by an OAuth install (which
        may have expired or been revoked)."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        token = token or args.get("token")
        args.pop("token", None)
        if not token:
            raise SlackError("not_authed")
        if token == self.emulator.bot_token:
            return self.emulator, self.emulator.bot_scopes
        if self.emulator.oauth is None:
            raise SlackError("invalid_auth")
        return self.emulator.oauth.emulator_for(str(token))


def add_routes(app: web.Application, emulator: Emulator) -> None:
    api = WebApi(emulator)
    app.router.add_route("GET", "/api/{method}", api.handle)
    app.router.add_route("POST", "/api/{method}", api.handle)

    async def upload(request: web.Request) -> web.Response:
        return await receive_upload(request, emulator)

    app.router.add_post(UPLOAD_PATH, upload)
