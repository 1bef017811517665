"""`python -m bench.bare PORT`: the limit for acks, a Bolt `AsyncApp` whose handler only acks.

It is served by Bolt's own aiohttp server and talks to the same local Slack as the bot,
so the difference between the two is what invoicebot adds.
"""

from __future__ import annotations

import os
import sys

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    app = AsyncApp(
        client=AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
        ),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    @app.command("/invoices")
    async def invoices(ack: AsyncAck) -> None:
        await ack()

    app.start(port=int(sys.argv[1]), path="/slack/events", host="127.0.0.1")


if __name__ == "__main__":
    main()
