"""A local Slack emulator, a development tool: the fake Slack for scenario tests and the
"small Slack" page of `invoicebot demo`. Production code never imports it.

The bot talks to it exactly as to Slack (Web API under `/api/`, response_urls under
`/hooks/`), and it sends the bot signed slash commands, interactions and events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence

from aiohttp import web

from slack_emulator import api, response_urls, webapi
from slack_emulator.blockkit import validate_message, validate_view
from slack_emulator.client import Emulator
from slack_emulator.clock import Clock, ManualClock, SystemClock
from slack_emulator.delivery import BotReply, sign
from slack_emulator.directory import Channel, User, UserGroup
from slack_emulator.elements import UserActionError
from slack_emulator.oauth import OAuthApp, OAuthServer
from slack_emulator.oauth import add_routes as add_oauth_routes
from slack_emulator.workspace import Enterprise, Message, Workspace

EMULATOR = web.AppKey("emulator", Emulator)
OAUTH = web.AppKey("oauth", OAuthServer)

__all__ = [
    "EMULATOR",
    "OAUTH",
    "BotReply",
    "Channel",
    "Clock",
    "Emulator",
    "Enterprise",
    "ManualClock",
    "Message",
    "OAuthApp",
    "OAuthServer",
    "SystemClock",
    "User",
    "UserActionError",
    "UserGroup",
    "Workspace",
    "create_app",
    "sign",
    "validate_message",
    "validate_view",
]


@web.middleware
async def _learn_public_url(request: web.Request, handler: api.Handler) -> web.StreamResponse:
    """Until told otherwise, the emulator's own URL is the one its first visitor used."""
    emulator = request.app[EMULATOR]
    if not emulator.public_url:
        emulator.public_url = str(request.url.origin())
    server = request.app.get(OAUTH)
    for other in server.emulators.values() if server else ():
        other.public_url = other.public_url or emulator.public_url
    return await handler(request)


REDELIVERY_CHECK_SECONDS = 0.5


def _all(app: web.Application) -> list[Emulator]:
    """The app's emulator and, installed by OAuth, every workspace's, each once."""
    server = app.get(OAUTH)
    return list(dict.fromkeys([app[EMULATOR], *(server.emulators.values() if server else ())]))


async def _redeliver(app: web.Application) -> None:
    """Events Slack retries a minute or five later, sent when the emulator's clock says."""
    while True:
        await asyncio.sleep(REDELIVERY_CHECK_SECONDS)
        for emulator in _all(app):
            await emulator.events.redeliver_due()


async def _bot_session(app: web.Application) -> AsyncIterator[None]:
    redelivering = asyncio.create_task(_redeliver(app))
    yield
    redelivering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await redelivering
    for emulator in _all(app):
        await emulator.close()


def create_app(
    *,
    request_url: str,
    signing_secret: str,
    bot_token: str,
    clock: Clock | None = None,
    workspace: Workspace | None = None,
    public_url: str | None = None,
    ack_timeout: float = 3.0,
    oauth: OAuthApp | None = None,
    more_workspaces: Sequence[Workspace] = (),
    bot_scopes: Iterable[str] | None = None,
) -> web.Application:
    """The emulator as an aiohttp app; its `Emulator` is `app[EMULATOR]`.

    `request_url` is the bot's `/slack/events`; `public_url` is this app's own base URL
    (used in response_urls; learnt from the first request when not given). With `oauth`,
    the app is installed by OAuth (`app[OAUTH]`), into `workspace` and `more_workspaces`,
    each its own `Emulator` (`app[OAUTH].emulators`). `bot_scopes` are those `bot_token`
    was granted (by default every scope); an OAuth token has those its install asked for.
    """
    emulator = Emulator(
        request_url=request_url,
        signing_secret=signing_secret,
        bot_token=bot_token,
        clock=clock,
        workspace=workspace,
        public_url=public_url,
        ack_timeout=ack_timeout,
        bot_scopes=bot_scopes,
    )
    app = web.Application(middlewares=[_learn_public_url, api.user_errors])
    app[EMULATOR] = emulator
    app.cleanup_ctx.append(_bot_session)
    webapi.add_routes(app, emulator)
    if oauth is None:
        response_urls.add_routes(app, emulator.response_urls)
    else:
        server = app[OAUTH] = OAuthServer(oauth)
        server.add(emulator)
        for more in more_workspaces:
            server.add(
                Emulator(
                    request_url=request_url,
                    signing_secret=signing_secret,
                    bot_token="",
                    clock=emulator.clock,
                    workspace=more,
                    public_url=public_url,
                    ack_timeout=ack_timeout,
                )
            )
        response_urls.add_routes(app, *[e.response_urls for e in server.emulators.values()])
        add_oauth_routes(app, server)
    api.add_routes(app, emulator)
    app.on_shutdown.append(_end_long_polls)
    return app


async def _end_long_polls(app: web.Application) -> None:
    """A stopping server answers the pages' long-polls at once instead of waiting them out."""
    emulators = [app[EMULATOR]]
    if OAUTH in app:
        emulators += app[OAUTH].emulators.values()
    for emulator in emulators:
        emulator.workspace.changes.release()
