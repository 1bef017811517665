"""A fake Slack Web API on loopback that records every call the bot makes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "xoxb-test-token"


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    calls: list[SlackCall] = field(default_factory=list)

    def called(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post()) or dict(request.query)
        self.calls.append(SlackCall(method, args))
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "invoicebot",
                    "team_id": "T0TEAM",
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        return web.json_response({"ok": True, "ts": "1700000000.000100", "echo": json.dumps(args)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        return app
