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
from bot.slack import commands


def make_web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def make_bolt_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        name="invoicebot",
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "",
        request_verification_enabled=not settings.socket_mode,
    )
    commands.register(app)
    return app
