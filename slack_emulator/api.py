"""A small JSON API that drives the emulator for scripts, tests and the page.

Every action is the same `Emulator` method a test would call, so the page is never
more capable than a test. `/emulator/changes?since=N` long-polls on the workspace's
version counter so the page redraws without reloading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from slack_emulator.client import Emulator
from slack_emulator.delivery import BotReply
from slack_emulator.elements import UserActionError
from slack_emulator.mrkdwn import Viewer, annotate, clock_time, mrkdwn, zone
from slack_emulator.submissions import fill
from slack_emulator.workspace import BOT_USER_ID, SLACKBOT_USER_ID, Message

PAGE = Path(__file__).parent / "page"
LONG_POLL_SECONDS = 25.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadField(ValueError):
    """A field or query parameter present but not what it must be: a 400, as missing is."""


def _number(value: Any, name: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BadField(f"{name} must be a number, not {value!r}") from None


def _reply(reply: BotReply | None) -> web.Response:
    return web.json_response({"ok": True, "reply": reply.to_json() if reply else None})


class ControlApi:
    """Handlers for `/emulator/...`; they only translate JSON to `Emulator` calls."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body must be JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("user", ""), str):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return body

    async def command(self, request: web.Request) -> web.Response:
        """`{user, channel, text}`; text may start with the command (`/invoices list`)."""
        body = await self._body(request)
        text = str(body.get("text", "")).strip()
        command = str(body.get("command") or "")
        if not command and text.startswith("/"):
            command, _, text = text.partition(" ")
        reply = await self.emu.slash_command(
            body["user"], body["channel"], text.strip(), command=command or "/invoices"
        )
        return _reply(reply)

    async def action(self, request: web.Request) -> web.Response:
        """`{user, ts | view_id, action_id, block_id?, value?, selected?, values?}`;
        `values` is what the page has typed into the view's inputs, which Slack's client
        keeps and reports in the click's `view.state`."""
        body = await self._body(request)
        if body.get("view_id") and body.get("values"):
            view = self.emu.surfaces.find(str(body["view_id"]))
            if view is None or view.user_id != body["user"]:
                raise UserActionError(f"{body['user']} sees no view {body['view_id']!r}")
            fill(view, body["values"])
        reply = await self.emu.click(
            body["user"],
            body.get("view_id") or str(body.get("ts", "")),
            str(body["action_id"]),
            block_id=body.get("block_id"),
            value=body.get("value"),
            selected=body.get("selected"),
        )
        return _reply(reply)

    async def submit(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        reply = await self.emu.submit_view(body["user"], body.get("view_id"), body.get("values"))
        return _reply(reply)

    async def close(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        everything = bool(body.get("everything"))
        return _reply(await self.emu.close_view(body["user"], everything=everything))

    async def home(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return _reply(await self.emu.open_home(body["user"]))

    async def uninstall(self, request: web.Request) -> web.Response:
        """Remove the app from the workspace (installed by OAuth): Slack's two events."""
        replies = await self.emu.uninstall()
        return web.json_response({"ok": True, "replies": [r.to_json() for r in replies]})

    async def state(self, request: web.Request) -> web.Response:
        user_id = request.query.get("user", "U0PAYER")
        return web.json_response(self.snapshot(user_id))

    async def changes(self, request: web.Request) -> web.Response:
        since = _number(request.query.get("since", "0"), "since", int)
        wait = _number(request.query.get("wait", LONG_POLL_SECONDS), "wait", float)
        seconds = min(wait, LONG_POLL_SECONDS)
        return web.json_response({"version": await self.emu.workspace.changes.wait(since, seconds)})

    async def calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        shown = [c.to_json() for c in self.emu.calls if method in (None, c.method)]
        return web.json_response({"calls": shown})

    async def faults(self, request: web.Request) -> web.Response:
        """POST `{method?, times, retry_after?}` (429) or `{..., status: 500}`; DELETE clears."""
        if request.method == "POST":
            body = await self._body(request)
            method, times = body.get("method"), _number(body.get("times", 1), "times", int)
            status = _number(body.get("status", 429), "status", int)
            if status == 429:
                retry_after = _number(body.get("retry_after", 1), "retry_after", int)
                self.emu.faults.rate_limit(method, times=times, retry_after=retry_after)
            else:
                self.emu.faults.fail(method, times=times, status=status)
        elif request.method == "DELETE":
            self.emu.faults.clear()
        return web.json_response({"faults": [f.to_json() for f in self.emu.faults.pending]})

    def snapshot(self, user_id: str) -> dict[str, Any]:
        """What `user_id` sees: their channels with messages and ephemerals, modal, home.

        Every text object comes with its `html`, drawn here as Slack would draw it for this
        user (their zone, names they can resolve), so the page only lays blocks out.
        """
        ws, emu = self.emu.workspace, self.emu
        if user_id not in ws.users:
            raise web.HTTPNotFound(text=f"no user {user_id}")
        viewer = self.viewer(user_id)
        channels = []
        for channel in ws.channels_of(user_id):
            shown = ws.messages[channel.id] + ws.ephemerals.get((channel.id, user_id), [])
            label = f"#{channel.name}" if not channel.is_im else ws.users[BOT_USER_ID].name
            channels.append(
                {
                    "id": channel.id,
                    "label": label,
                    "is_im": channel.is_im,
                    "messages": [self._message(m, viewer) for m in sorted(shown, key=_ts_key)],
                }
            )
        modal, home = emu.modal(user_id), emu.home(user_id)
        modal_shown = None
        if modal is not None:
            view = annotate(emu.view_api(modal, inputs_only=False), viewer)
            modal_shown = {**view, "errors": modal.errors}
            modal_shown["depth"] = len(emu.surfaces.stacks[user_id])
        return {
            "version": ws.changes.version,
            "team": {"id": ws.team_id, "name": ws.team_name},
            "me": user_id,
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name, "is_admin": u.is_admin}
                for u in ws.users.values()
                if not u.is_bot
            ],
            "channels": channels,
            "modal": modal_shown,
            "home": annotate(emu.view_api(home, inputs_only=False), viewer) if home else None,
        }

    def viewer(self, user_id: str) -> Viewer:
        ws = self.emu.workspace
        return Viewer(
            user_id=user_id,
            tz=zone(ws.users[user_id].tz),
            now=self.emu.clock.now(),
            users={u.id: u.real_name for u in ws.users.values()},
            channels={c.id: c.name for c in ws.channels.values() if not c.is_im},
            groups={g.id: g.handle for g in ws.usergroups.values()},
        )

    def _message(self, message: Message, viewer: Viewer) -> dict[str, Any]:
        ws = self.emu.workspace
        author = ws.users.get(message.user)
        name = author.real_name if author else "Slackbot"
        sent = datetime.fromtimestamp(int(message.ts.split(".")[0]), viewer.tz)
        return {
            "ts": message.ts,
            # A reply names its thread's first message; the page shows it under that one.
            "thread_ts": message.thread_ts if message.thread_ts != message.ts else None,
            "time": clock_time(sent),
            "text": message.text,
            "html": mrkdwn(message.text, viewer),
            "blocks": annotate(message.blocks, viewer),
            "author": name,
            "is_bot": message.bot_id is not None or message.user == SLACKBOT_USER_ID,
            "ephemeral": message.ephemeral_to is not None,
            "edited": message.edited,
            "picks": message.selections.get(viewer.user_id, {}),
            "files": [
                {"title": f["title"], "name": f["name"], "url": f"/emulator/files/{f['id']}"}
                for f in message.files
            ],
        }

    async def file(self, request: web.Request) -> web.Response:
        """A shared file's bytes, for the page's download link."""
        found = self.emu.files.by_id.get(request.match_info["file_id"])
        if found is None or not found.channels or found.content is None:
            raise web.HTTPNotFound(text="no such file")
        disposition = f'attachment; filename="{found.name.replace(chr(34), "")}"'
        return web.Response(
            body=found.content,
            content_type="text/csv" if found.name.endswith(".csv") else "application/octet-stream",
            headers={"Content-Disposition": disposition},
        )


def _ts_key(message: Message) -> tuple[int, int]:
    seconds, _, seq = message.ts.partition(".")
    return int(seconds), int(seq)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE / "index.html")


def add_routes(app: web.Application, emulator: Emulator) -> None:
    """`?team=T…` picks a workspace when the app is installed by OAuth in several."""
    apis = {emulator.workspace.team_id: ControlApi(emulator)}
    if emulator.oauth is not None:
        apis.update({team: ControlApi(e) for team, e in emulator.oauth.emulators.items()})
    default = apis[emulator.workspace.team_id]

    def route(name: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            team = request.query.get("team")
            api = apis.get(team) if team else default
            if api is None:
                raise web.HTTPNotFound(text=f"no workspace {team}")
            handler: Handler = getattr(api, name)
            return await handler(request)

        return handle

    app.router.add_get("/", _index)
    app.router.add_get("/emulator/", _index)
    app.router.add_static("/emulator/page/", PAGE)
    app.router.add_get("/emulator/state", route("state"))
    app.router.add_get("/emulator/changes", route("changes"))
    app.router.add_get("/emulator/calls", route("calls"))
    app.router.add_get("/emulator/files/{file_id}", route("file"))
    app.router.add_route("*", "/emulator/faults", route("faults"))
    for action in ("command", "action", "submit", "close", "home", "uninstall"):
        app.router.add_post(f"/emulator/{action}", route(action))


@web.middleware
async def user_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A user action Slack would not allow, or a field missing or malformed, answers 400
    with the reason, not a 500."""
    try:
        return await handler(request)
    except (UserActionError, BadField) as refused:
        return web.json_response({"ok": False, "error": str(refused)}, status=400)
    except KeyError as missing:
        return web.json_response({"ok": False, "error": f"missing field {missing}"}, status=400)
