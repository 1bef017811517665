"""`respond()` over the app's pooled HTTP session.

Bolt's own `respond` opens a new HTTP session, and so a new connection, for every
call; under load that costs more than the rest of a command. This one has the same
call shape and reuses the connections the bot already keeps to Slack.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient


class PooledRespond(AsyncRespond):
    def __init__(self, *, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(  # type: ignore[override]
        self, text: str = "", blocks: list[dict[str, Any]] | None = None, **fields: Any
    ) -> WebhookResponse:
        assert self.response_url is not None
        message: dict[str, Any] = {"text": text, **fields}
        if blocks is not None:
            message["blocks"] = blocks
        client = AsyncWebhookClient(self.response_url, session=self.session)
        return await client.send_dict({k: v for k, v in message.items() if v is not None})


def use_pooled_respond(app: AsyncApp, session: aiohttp.ClientSession) -> None:
    @app.middleware
    async def pooled_respond(context: AsyncBoltContext, next: Any) -> Any:
        if context.response_url:
            context["respond"] = PooledRespond(response_url=context.response_url, session=session)
        return await next()
