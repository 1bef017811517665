"""The Bolt `AsyncApp`: request verification on, every listener registered here."""

from __future__ import annotations

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack import (
    actions,
    approvals,
    commands,
    connect,
    customers,
    home,
    new_invoice,
    records,
    reminders,
)
from bot.slack.blocks.digest import DIGEST_PREFIX
from bot.slack.errors import on_error
from bot.slack.responses import answer_digest_clicks_in_messages, use_pooled_respond
from bot.slack.services import Services


def make_web_client(
    settings: Settings, session: aiohttp.ClientSession, *, retries: bool = True
) -> AsyncWebClient:
    """`retries=False` for the outbox: it decides itself what may be sent again, because
    a post whose answer was lost may exist, and an HTTP-level retry would post it twice."""
    handlers = (
        [AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
        if retries
        else []
    )
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=handlers,
    )


def make_bolt_app(settings: Settings, client: AsyncWebClient, svc: Services) -> AsyncApp:
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        name="invoicebot",
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=True,  # listeners answer as soon as they ack: see `shielded`
    )
    app.error(on_error)
    use_pooled_respond(app, svc.connections.http)
    answer_digest_clicks_in_messages(app, DIGEST_PREFIX)
    commands.register(app, svc)
    actions.register(app, svc)
    connect.register(app, svc)
    customers.register(app, svc)
    new_invoice.register(app, svc)
    home.register(app, svc)
    approvals.register(app, svc)
    reminders.register(app, svc)
    records.register(app, svc)
    return app
