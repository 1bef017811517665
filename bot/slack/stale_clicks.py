"""Clicks on buttons and menus this version of invoicebot no longer has.

A message posted by an older version keeps its buttons. A click on one whose action id no
listener knows got Bolt's 404, which Slack shows as a warning sign on the button and
nothing more. The listener here takes those clicks: registered after every other, it is
reached only when none of them matched, and it matches clicks (`block_actions`) alone, so
dialog submissions and events go on to Bolt as before.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.errors import shielded
from bot.slack.responses import DirectRespond

log = logging.getLogger(__name__)

STALE_CLICK = (
    ":information_source: That {what} is from an older invoicebot message and no longer "
    "works, so nothing was done. Type `/invoices` for a fresh list and use the buttons there."
)
ANY_ACTION = re.compile("")


async def on_stale_click(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Acked at once; the person is told where they clicked (a new ephemeral message under
    it, or their messages with the app from App Home). The old message stays as it was: it
    may still show something worth reading. A click in a dialog has nowhere to be told."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    action_id = str(action.get("action_id", ""))[:64]
    log.info("a click on %r, which this version does not know (an older message)", action_id)
    if not body.get("response_url") and not isinstance(respond, DirectRespond):
        return
    told = STALE_CLICK.format(what="button" if action.get("type") == "button" else "menu")
    await respond(text=told, response_type="ephemeral", replace_original=False)


def register_last(app: AsyncApp) -> None:
    """Call after every other listener is registered: Bolt runs the first that matches."""
    app.block_action(ANY_ACTION)(shielded(on_stale_click))
