"""A dialog's later word, after its ack: a person may close it while it says "Creating…".

Slack then answers `views.update` with `not_found`. Before any work was done (a lookup
filling in a form) nothing is lost and nothing is said. After it (an invoice created, an
e-mail sent, a provider connected) the person gets the outcome as a direct message, or
they would never learn that the work they asked for was done. It goes through the
outbox, as every message that must arrive does: retried while Slack is busy, kept
across a restart, sent once per dialog.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.hookspecs import Outbox

log = logging.getLogger(__name__)

CLOSED = "not_found"
"""Slack's answer to `views.update` on a dialog that is no longer open."""


class Told(NamedTuple):
    """Who hears a closed dialog's outcome, in `team_id`, and in what words (mrkdwn)."""

    outbox: Outbox
    team_id: str
    user_id: str
    text: str


async def update(
    client: AsyncWebClient,
    view_id: str | None,
    view: dict[str, Any],
    *,
    hash: str | None = None,
    tell: Told | None = None,
) -> bool:
    """Show `view` in the dialog; False if it was closed. `tell`: the outcome to send
    directly when the dialog is gone."""
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
    tell.outbox.enqueue(
        "chat.postMessage",
        {"channel": tell.user_id, "text": tell.text},
        key=f"dialog-closed:{view_id}",
        team_id=tell.team_id,
    )
    return False
