"""A fake Slack Web API and response_url sink on loopback that records what the bot sends.

Every message and view is checked as Slack would check it (`slack_emulator.blockkit`), and
a refused one is answered with `invalid_blocks`, so a test sees what a user would see. A
response_url takes five posts, as Slack's does; a sixth is refused too. A slash command's
response_url cannot change the command's own reply, trigger ids are good once for 3 s, a
modal stack holds 3 views, views.update checks its `hash` (and finds no dialog a
submission's answer closed), and chat.update takes neither an ephemeral message nor a user
id for a channel: all as Slack (reference/slack.md §2). Posts to one channel are paced
as Slack paces chat.postMessage (§4): past a short burst, one a second, the rest 429.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from slack_emulator.blockkit import validate_message, validate_view
from slack_emulator.webapi import FORM_ONLY, POST_BURST, POSTS_PER_SECOND

BOT_TOKEN = "xoxb-test-token"
MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update"}
POSTS = {"chat.postMessage", "chat.postEphemeral"}
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
"""How long Slack takes posts to a response_url, from when it was issued."""
"""Slack takes 5 posts to one response_url (reference/slack.md §2)."""
VIEW_METHODS = {"views.open", "views.update", "views.push", "views.publish"}
ACK_SECONDS = 3.0
"""Slack waits 3 s for the answer to a command, click or submission, then shows the person
an error and ignores the answer (reference/slack.md §2, 3-second rule)."""
TRIGGER_SECONDS = 3.0
"""A trigger_id is good once, within 3 s of the interaction (reference/slack.md §2)."""
STACK_LIMIT = 3
"""A modal and at most 2 pushed views (reference/slack.md §2, views.push)."""
VIEW_SIZE_LIMIT = 250_000
"""Slack answers a larger view `view_too_large` (reference/slack.md §2, views.push)."""


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)
    """When the call arrived."""


@dataclass
class Trigger:
    """A trigger_id Slack sent with `user`'s interaction, at `issued` (time.monotonic())."""

    user: str
    issued: float
    used: bool = False


def _flag(value: object) -> bool:
    return value is True or value == "true"


def _submission_problems(payload: dict[str, Any], answer: object) -> list[str]:
    """A view_submission's acknowledgement as Slack applies it (reference/slack.md §2)."""
    if not isinstance(answer, dict):
        return []
    action = answer.get("response_action")
    if action in ("update", "push"):
        view = answer.get("view")
        problems = validate_view(view)
        if isinstance(view, dict) and view.get("type") != "modal":
            problems.append("a dialog's new view must be a modal [json-pointer:/view/type]")
        return problems
    if action == "errors":
        errors = answer.get("errors")
        if not isinstance(errors, dict) or not errors:
            return ["`errors` must name at least one input block"]
        blocks = (payload.get("view") or {}).get("blocks") or []
        inputs = {
            b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"
        }
        return [
            f"`errors` names `{key}`, no input block of the view"
            for key in errors
            if key not in inputs
        ]
    return []


@dataclass
class FakeSlack:
    calls: list[SlackCall] = field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: list[tuple[str, list[str]]] = field(default_factory=list)
    reads: list[SlackCall] = field(default_factory=list)
    """conversations.history and .replies calls (kept apart: `calls` is what the bot
    posted)."""
    retry_after: str = "1"
    """The Retry-After that `rate_limit_next` answers with."""
    worn_out: set[str] = field(default_factory=set)
    """response_url ids Slack no longer takes (30 minutes gone, or 5 uses)."""
    issued: dict[str, float] = field(default_factory=dict)
    """When each response_url was issued (`clock`; a hook a test made up: at its first
    post): Slack takes none of them after `RESPONSE_URL_SECONDS`."""
    clock: Any = time.monotonic
    """The time as the fake sees it; a test moves it to age the response_urls."""
    rate_limit_next: dict[str, int] = field(default_factory=dict)
    rate_limit_in: dict[str, int] = field(default_factory=dict)
    """As `rate_limit_next`, for the next posts to a channel (by its id) only."""
    lose_answer_next: dict[str, int] = field(default_factory=dict)
    """Do the call, then drop the connection before answering (a reset, a dying proxy)."""
    lose_answer_in: dict[str, int] = field(default_factory=dict)
    """As `lose_answer_next`, for the next posts to a channel (by its id)."""
    hang_answer_next: dict[str, int] = field(default_factory=dict)
    """Do the call, then hold the answer for a minute (the bot is killed meanwhile)."""
    hang_answer_in: dict[str, int] = field(default_factory=dict)
    """As `hang_answer_next`, for the next posts to a channel (by id) only."""
    fail_next: dict[str, int] = field(default_factory=dict)
    """Answer HTTP 500 without doing anything."""
    stall_next: dict[str, int] = field(default_factory=dict)
    """Hold the call for a minute before doing it (the bot is killed meanwhile, so it is
    never done); `response_url` only."""
    history_errors: list[str] = field(default_factory=list)
    """conversations.history (or .replies) answers with these errors, one per call, first."""
    history_calls_left: int | None = None
    """conversations.history calls Slack takes before answering 429 (`Retry-After: 60`),
    as it does to apps outside its Marketplace, one a minute: a test gives 1 a "minute".
    None: no such limit."""
    deactivated: set[str] = field(default_factory=set)
    """People whose account is gone: conversations.open answers `user_disabled`."""
    withheld: set[str] = field(default_factory=set)
    """Scopes the install did not grant (the default has the manifest's): reading a
    conversation's history without its kind's scope is `missing_scope`."""
    user_groups: dict[str, list[str]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    """Private channels, DMs and group DMs the bot is not in: Slack answers a post there
    with `channel_not_found` (chat:write.public reaches public channels only)."""
    outside: set[str] = field(default_factory=set)
    """Public channels the bot is not a member of, for a token without chat:write.public:
    Slack answers a post there `not_in_channel` (a test's setting, so not in `refused`)."""
    ts_of: dict[int, str] = field(default_factory=dict)
    command_hooks: set[str] = field(default_factory=set)
    """response_url ids Slack sent with a slash command (the harness registers them)."""
    posted_anew: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(hook id, body) of `replace_original` posts to a command's response_url: Slack
    cannot replace the command's reply, so each came as a new message below it."""
    triggers: dict[str, Trigger] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Open modals by id, as Slack shows them (with `id` and `hash`)."""
    stacks: dict[str, list[str]] = field(default_factory=dict)
    """Each user's modal stack: view ids, the opened one first."""
    ephemeral_ts: set[str] = field(default_factory=set)
    orphaned: list[dict[str, Any]] = field(default_factory=list)
    """Replies posted with a `thread_ts` that names no message of their channel: Slack
    answers them `ok` and no one ever sees them (python-slack-sdk #840)."""
    post_burst: int = POST_BURST
    """Posts one channel takes at once before Slack's pace of one a second applies. A
    test standing in for a backlog Slack drained at its pace, made all at once, raises it."""
    paced: dict[str, tuple[float, float]] = field(default_factory=dict)
    """chat.postMessage's pace per channel: (tokens, when), as `_post_wait` keeps it."""
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def issue_trigger(self, user: str, at: float | None = None) -> str:
        """A fresh trigger_id for an interaction of `user` at `at` (time.monotonic(),
        now if None): what Slack sends with a command, a click or a submission."""
        trigger_id = f"{next(self._seq)}.1700.{secrets.token_hex(8)}"
        self.triggers[trigger_id] = Trigger(user, time.monotonic() if at is None else at)
        return trigger_id

    def show_modal(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """Open `view` in front of `user` as if the bot had opened it earlier, for a test
        that starts at its submission; returns it as Slack shows it (`id`, `hash`)."""
        shown = self._shown(view)
        self._open(user, shown)
        return shown

    def _open(self, user: str, shown: dict[str, Any]) -> None:
        """A new stack: the modals open before are closed, as when Slack opens another."""
        for closed in self.stacks.get(user, []):
            self.views.pop(closed, None)
        self.stacks[user] = [shown["id"]]

    def top(self, user: str) -> dict[str, Any]:
        """The modal `user` is looking at, as a view_submission would carry it."""
        return self.views[self.stacks[user][-1]]

    def _shown(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._seq):04d}{secrets.token_hex(3).upper()}"
        shown = {**view, "id": view_id, "hash": f"{int(time.time())}.{secrets.token_hex(4)}"}
        self.views[view_id] = shown
        return shown

    def check_answer(self, request_body: str, answer: object) -> list[str]:
        """What Slack would refuse in the bot's HTTP answer to `request_body`, also kept in
        `refused` (as "ack"): a slash command's reply is a message and is checked like one;
        a view_submission's `update` or `push` view like views.update and views.push; its
        `errors` may name only input blocks of the submitted view. Slack shows none of a
        refused answer (the person sees an error, the dialog stays as it was)."""
        form = parse_qs(request_body, keep_blank_values=True)
        problems: list[str] = []
        if "payload" in form:
            try:
                payload = json.loads(form["payload"][0])
            except ValueError:
                return []
            if isinstance(payload, dict) and payload.get("type") == "view_submission":
                problems = _submission_problems(payload, answer)
                if not problems:
                    self._apply_answer(payload, answer)
        elif "command" in form and isinstance(answer, dict) and answer:
            problems = validate_message(answer)
        if problems:
            self.refused.append(("ack", problems))
        return problems

    def _apply_answer(self, payload: dict[str, Any], answer: object) -> None:
        """A view_submission's answer to the dialog it came from, as Slack applies it:
        `update` shows the new view in its place (a new hash), `push` stacks one on it,
        `errors` leaves it open, and anything else closes it (`clear`: the whole stack),
        after which views.update on it is `not_found`."""
        user = str((payload.get("user") or {}).get("id", ""))
        view_id = str((payload.get("view") or {}).get("id", ""))
        stack = self.stacks.get(user, [])
        if view_id not in stack:
            return  # a dialog the fake never showed
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            return
        if action == "update":
            self._shown(answer["view"], view_id)
        elif action == "push" and len(stack) < STACK_LIMIT:
            stack.append(self._shown(answer["view"])["id"])
        elif action != "push":
            closed = stack[:] if action == "clear" else stack[stack.index(view_id) :]
            for gone in closed:
                stack.remove(gone)
                self.views.pop(gone, None)

    def called(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def posted_to(self, channel: str) -> list[dict[str, Any]]:
        return [c.args for c in self.called("chat.postMessage") if c.args.get("channel") == channel]

    def _problems(self, method: str, args: dict[str, Any]) -> list[str]:
        if method in MESSAGE_METHODS:
            return validate_message(args)
        if method in VIEW_METHODS:
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            problems = validate_view(view)
            surface = "home" if method == "views.publish" else "modal"
            if isinstance(view, dict) and view.get("type") != surface:
                problems.append(f"{method} takes a `{surface}` view [json-pointer:/view/type]")
            return problems
        return []

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type == "application/json" and method not in FORM_ONLY:
            args = await request.json()
        elif request.method == "POST":
            args = {**dict(request.query), **dict(await request.post())}
        else:
            args = dict(request.query)
        if self.rate_limit_next.get(method, 0) > 0:
            self.rate_limit_next[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if method in POSTS and self.rate_limit_in.get(str(args.get("channel")), 0) > 0:
            self.rate_limit_in[str(args.get("channel"))] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if method == "chat.postMessage" and (wait := self._post_wait(str(args.get("channel")))):
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        problems = self._problems(method, args)
        if problems:
            self.refused.append((method, problems))
            return web.json_response({"ok": False, "error": "invalid_blocks", "errors": problems})
        if self.fail_next.get(method, 0) > 0:
            self.fail_next[method] -= 1
            return web.Response(status=500, text="Internal Server Error")
        if method in POSTS and args.get("channel") in self.hidden:
            self.refused.append((method, ["channel_not_found"]))
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if method in POSTS and args.get("channel") in self.outside:
            return web.json_response({"ok": False, "error": "not_in_channel"})
        if method in ("conversations.history", "conversations.replies"):
            self.reads.append(SlackCall(method, args))
            if self.history_calls_left is not None:
                if self.history_calls_left <= 0:
                    return web.json_response(
                        {"ok": False, "error": "ratelimited"},
                        status=429,
                        headers={"Retry-After": "60"},
                    )
                self.history_calls_left -= 1
            if refusal := self._unreadable(str(args.get("channel") or "")):
                return web.json_response({"ok": False, "error": refusal})
            if method == "conversations.replies":
                return self._replies(args)
            return self._history(args)
        error = self._slack_says_no(method, args)
        if error:
            self.refused.append((method, [error]))
            return web.json_response({"ok": False, "error": error})
        if method == "chat.postMessage" and args.get("thread_ts"):
            roots = {
                self.ts_of.get(id(call))
                for call in self.called("chat.postMessage")
                if call.args.get("channel") == args.get("channel")
            }
            if args["thread_ts"] not in roots:
                self.orphaned.append(args)
        self.calls.append(SlackCall(method, args))
        ts = f"{time.time():.6f}"
        self.ts_of[id(self.calls[-1])] = ts
        if method == "chat.postEphemeral":
            self.ephemeral_ts.add(ts)
        channel = str(args.get("channel", ""))
        if method in POSTS and self.lose_answer_in.get(channel, 0) > 0:
            self.lose_answer_in[channel] -= 1
            self.lose_answer_next[method] = self.lose_answer_next.get(method, 0) + 1
        if self.lose_answer_next.get(method, 0) > 0:
            self.lose_answer_next[method] -= 1
            assert request.transport is not None
            request.transport.abort()  # done, but the answer never reaches the bot
            raise web.HTTPInternalServerError()
        if self.hang_answer_next.get(method, 0) > 0:
            self.hang_answer_next[method] -= 1
            await asyncio.sleep(60)
        channel = str(args.get("channel", ""))
        if method in POSTS and self.hang_answer_in.get(channel, 0) > 0:
            self.hang_answer_in[channel] -= 1
            await asyncio.sleep(60)
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": "T0TEAM", "user_id": "U0BOT", "bot_id": "B0BOT"}
            )
        if method == "usergroups.users.list":
            return web.json_response(
                {"ok": True, "users": self.user_groups.get(args["usergroup"], [])}
            )
        if method == "conversations.open" and args["users"] in self.deactivated:
            return web.json_response({"ok": False, "error": "user_disabled"})
        if method == "conversations.open":  # a DM with one person, as Slack names it
            return web.json_response({"ok": True, "channel": {"id": "D" + args["users"][1:]}})
        if method in ("views.open", "views.push", "views.update"):
            return web.json_response({"ok": True, "view": self._view_after(method, args)})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": ts})
        if method == "chat.postMessage":  # a user id posts to the DM, named as Slack names it
            dm = self.conversation(str(args.get("channel", "")))
            return web.json_response({"ok": True, "channel": dm, "ts": ts})
        return web.json_response({"ok": True, "ts": ts})

    def _post_wait(self, channel: str) -> float:
        """0 when a post to `channel` may go now, else the seconds until it may: Slack
        takes about one chat.postMessage a second per channel, a short burst allowed
        (reference/slack.md §4, 9), and answers the rest 429 with nothing posted."""
        now = time.monotonic()
        burst = float(self.post_burst)
        tokens, at = self.paced.get(channel, (burst, now))
        tokens = min(burst, tokens + (now - at) * POSTS_PER_SECOND)
        if tokens < 1:
            self.paced[channel] = (tokens, now)
            return (1 - tokens) / POSTS_PER_SECOND
        self.paced[channel] = (tokens - 1, now)
        return 0.0

    def _slack_says_no(self, method: str, args: dict[str, Any]) -> str | None:
        """The error Slack answers for what it knows and the bot got wrong, or None."""
        if method in VIEW_METHODS and len(json.dumps(args.get("view"))) > VIEW_SIZE_LIMIT:
            return "view_too_large"
        if method in ("views.open", "views.push"):
            trigger = self.triggers.get(str(args.get("trigger_id")))
            if trigger is None:
                return "invalid_trigger_id"
            if trigger.used:
                return "exchanged_trigger_id"
            if time.monotonic() - trigger.issued > TRIGGER_SECONDS:
                return "expired_trigger_id"
            stack = self.stacks.get(trigger.user, [])
            if method == "views.push" and not stack:
                return "not_found"
            if method == "views.push" and len(stack) >= STACK_LIMIT:
                return "push_limit_reached"
            trigger.used = True
        if method == "views.update":
            shown = self.views.get(str(args.get("view_id")))
            if shown is None:
                return "not_found"
            if args.get("hash") and args["hash"] != shown["hash"]:
                return "hash_conflict"
        if method == "chat.update":
            if str(args.get("channel", ""))[:1] in ("U", "W"):
                return "channel_not_found"  # it wants the DM's D… id (chat.update reference)
            if args.get("ts") in self.ephemeral_ts:
                return "message_not_found"  # only a response_url changes an ephemeral
            if (str(args.get("channel")), str(args.get("ts"))) not in self._posted():
                return "message_not_found"  # the bot can change only what it posted
        return None

    def _posted(self) -> set[tuple[str, str]]:
        """(channel, ts) of each message the bot posted, a DM named by its D… id."""
        posted = set()
        for call in self.called("chat.postMessage"):
            dm = self.conversation(str(call.args.get("channel", "")))
            posted.add((dm, self.ts_of.get(id(call), "")))
        return posted

    def _view_after(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """The view as Slack answers it, with its id and a fresh hash; the stack as it is now."""
        view = args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        if method == "views.update":
            return self._shown(view, str(args["view_id"]))
        shown = self._shown(view)
        user = self.triggers[str(args["trigger_id"])].user
        if method == "views.open":
            self._open(user, shown)
        else:
            self.stacks[user].append(shown["id"])
        return shown

    def _unreadable(self, channel: str) -> str | None:
        """Why Slack would not read this conversation's history: a user id is not the
        DM with them (history takes a conversation's id), and a DM needs im:history."""
        if channel[:1] in ("U", "W"):
            return "channel_not_found"
        kind = "im:history" if channel[:1] == "D" else "channels:history"
        return "missing_scope" if kind in self.withheld else None

    @staticmethod
    def conversation(channel: str) -> str:
        """Where a post to `channel` is: a post to a user id is in the DM with them."""
        return "D" + channel[1:] if channel[:1] in ("U", "W") else channel

    def _history(self, args: dict[str, Any]) -> web.Response:
        """The channel's messages, newest first; metadata only when asked for, as Slack does."""
        if self.history_errors:
            return web.json_response({"ok": False, "error": self.history_errors.pop(0)})
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive")).lower() in ("true", "1")
        # Slack gives at most `limit` messages a page (100 if not asked, 999 at most),
        # newest first, and a cursor to the next page: here the ts the next page starts
        # below, so messages posted meanwhile do not shift the pages still to come.
        limit = max(1, min(int(args.get("limit") or 100), 999))
        below = float(args["cursor"]) if args.get("cursor") else None
        shown = []
        for call in reversed(self.called("chat.postMessage")):
            ts = self.ts_of.get(id(call))
            if self.conversation(str(call.args.get("channel"))) != args.get("channel"):
                continue
            if ts is None:
                continue
            if call.args.get("thread_ts") and not call.args.get("reply_broadcast"):
                continue  # a thread's replies are read with conversations.replies
            if not (oldest <= float(ts) <= latest if inclusive else oldest < float(ts) < latest):
                continue
            if below is not None and float(ts) >= below:
                continue
            message = {"type": "message", "ts": ts, "text": call.args.get("text", "")}
            if str(args.get("include_all_metadata")).lower() in ("true", "1") and call.args.get(
                "metadata"
            ):
                message["metadata"] = call.args["metadata"]
            shown.append(message)
        more = len(shown) > limit
        shown = shown[:limit]
        cursor = shown[-1]["ts"] if more else ""
        return web.json_response(
            {
                "ok": True,
                "messages": shown,
                "has_more": more,
                "response_metadata": {"next_cursor": cursor},
            }
        )

    def _replies(self, args: dict[str, Any]) -> web.Response:
        """A thread: its parent first, then the replies between `oldest` and `latest`,
        oldest first; metadata only when asked for. A ts that is no parent posted to the
        channel is `thread_not_found`, as Slack answers."""
        if self.history_errors:
            return web.json_response({"ok": False, "error": self.history_errors.pop(0)})
        channel, parent = args.get("channel"), str(args.get("ts") or "")
        posts = [
            (self.ts_of.get(id(call)), call.args)
            for call in self.called("chat.postMessage")
            if self.conversation(str(call.args.get("channel"))) == channel
        ]
        if not any(ts == parent and not posted.get("thread_ts") for ts, posted in posts):
            return web.json_response({"ok": False, "error": "thread_not_found"})
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = max(1, min(int(args.get("limit") or 100), 999))
        above = float(args["cursor"]) if args.get("cursor") else None
        shown = []
        for ts, posted in posts:
            first_page_parent = ts == parent and above is None
            in_window = (
                ts is not None
                and posted.get("thread_ts") == parent
                and oldest < float(ts) < latest
                and (above is None or float(ts) > above)
            )
            if ts is None or not (first_page_parent or in_window):
                continue
            message = {"type": "message", "ts": ts, "text": posted.get("text", "")}
            if posted.get("thread_ts"):
                message["thread_ts"] = parent
            if str(args.get("include_all_metadata")).lower() in ("true", "1") and posted.get(
                "metadata"
            ):
                message["metadata"] = posted["metadata"]
            shown.append(message)
        more = len(shown) > limit
        shown = shown[:limit]
        cursor = shown[-1]["ts"] if more else ""
        return web.json_response(
            {
                "ok": True,
                "messages": shown,
                "has_more": more,
                "response_metadata": {"next_cursor": cursor},
            }
        )

    async def response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.rate_limit_next.get("response_url", 0) > 0:  # nothing taken, as Slack's 429
            self.rate_limit_next["response_url"] -= 1
            return web.Response(
                status=429, text="rate_limited", headers={"Retry-After": self.retry_after}
            )
        if self.stall_next.get("response_url", 0) > 0:
            self.stall_next["response_url"] -= 1
            await asyncio.sleep(60)
        if self.fail_next.get("response_url", 0) > 0:  # nothing taken
            self.fail_next["response_url"] -= 1
            return web.Response(status=500, text="Internal Server Error")
        if request.match_info["id"] in self.worn_out:  # as Slack after 30 minutes or 5 uses
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        hook = request.match_info["id"]
        if self.clock() - self.issued.setdefault(hook, self.clock()) > RESPONSE_URL_SECONDS:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        if len(self.responses.get(hook, [])) >= RESPONSE_URL_USES:
            self.refused.append(("response_url", ["used_url"]))  # what the person never saw
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        deleting = _flag(body.get("delete_original"))
        if deleting and hook in self.command_hooks:  # a command's reply cannot be deleted
            self.refused.append(("response_url", ["message_not_found"]))
            return web.json_response({"ok": False, "error": "message_not_found"}, status=404)
        problems = [] if deleting else validate_message(body)
        if problems:
            self.refused.append(("response_url", problems))
            return web.Response(status=400, text="invalid_blocks")
        if hook in self.command_hooks and _flag(body.get("replace_original")):
            self.posted_anew.append((hook, body))
        self.responses.setdefault(hook, []).append(body)
        if self.lose_answer_next.get("response_url", 0) > 0:  # shown, the answer lost
            self.lose_answer_next["response_url"] -= 1
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPInternalServerError()
        if self.hang_answer_next.get("response_url", 0) > 0:  # shown, the answer late
            self.hang_answer_next["response_url"] -= 1
            await asyncio.sleep(60)
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_post("/hooks/{id}", self.response_url)
        return app
