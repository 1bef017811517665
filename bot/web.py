"""The aiohttp application: Slack's request URL, health, and (later) pay pages.

One factory builds it; shared resources (database, HTTP session, Bolt app) are opened
and closed in `cleanup_ctx` and kept under typed `AppKey`s, never in module globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pluggy
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.credentials import CredentialBox
from bot.settings import Settings
from bot.slack.app import make_bolt_app, make_web_client
from bot.store import Store

SETTINGS = web.AppKey("settings", Settings)
PLUGINS = web.AppKey("plugins", pluggy.PluginManager)
STORE = web.AppKey("store", Store)
HTTP = web.AppKey("http", aiohttp.ClientSession)
BOLT = web.AppKey("bolt", AsyncApp)

SLACK_EVENTS_PATH = "/slack/events"


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = Store(settings.database, CredentialBox(settings.secret_key.get_secret_value()))
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    app[STORE] = store
    app[HTTP] = session
    app[BOLT] = make_bolt_app(settings, make_web_client(settings, session))
    try:
        yield
    finally:
        await session.close()
        store.close()


async def slack_events(request: web.Request) -> web.StreamResponse:
    bolt = request.app[BOLT]
    return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))


async def healthz(request: web.Request) -> web.Response:
    request.app[STORE].db.execute("SELECT 1").fetchone()
    return web.json_response({"ok": True})


def create_app(settings: Settings, pm: pluggy.PluginManager) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[PLUGINS] = pm
    app.cleanup_ctx.append(_resources)
    app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    app.router.add_get("/healthz", healthz)
    return app
