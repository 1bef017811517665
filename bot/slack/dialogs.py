"""A dialog's later word, after its ack: a person may close it while it says "Creating…".

Slack then answers `views.update` with `not_found`. Before any work was done (a lookup
filling in a form) nothing is lost and nothing is said. After it (an invoice created, an
e-mail sent, a provider connected) the person gets the outcome as a direct message, or
they would never learn that the work they asked for was done.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

CLOSED = "not_found"
"""Slack's answer to `views.update` on a dialog that is no longer open."""


async def update(
    client: AsyncWebClient,
    view_id: str | None,
    view: dict[str, Any],
    *,
    hash: str | None = None,
    tell: tuple[str, str] | None = None,
) -> bool:
    """Show `view` in the dialog; False if it was closed. `tell`, (user id, mrkdwn text):
    the outcome to send that person directly when the dialog is gone."""
    try:
        if hash is None:
            await client.views_update(view_id=view_id, view=view)
        else:
            await client.views_update(view_id=view_id, hash=hash, view=view)
        return True
    except SlackApiError as error:
        if error.response.get("error") != CLOSED:
            raise
    if tell is None:
        log.info("a dialog was closed before its next step was shown")
        return False
    user_id, text = tell
    opened = await client.conversations_open(users=user_id)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
    return False
