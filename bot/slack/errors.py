"""The one place an error becomes words for a person, and Slack's error boundary.

Listeners let errors rise; Bolt hands them to `on_error`, which logs protocol detail
(status codes, request ids, exception classes) for the operator and shows the person one
plain sentence with the next step. An unexpected exception still gets a message, and
exactly one traceback in the log.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import SecretKeyError
from bot.provider import (
    BadCredentials,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from bot.slack.values import BACK
from bot.text import escape, plain

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]

UNEXPECTED = (
    "Something went wrong inside invoicebot, and the details are in its log. If you were "
    "paying, look at the invoice before you try again."
)


def say(error: BaseException) -> str:
    """One plain sentence a person can act on (text: escape it where it goes)."""
    if isinstance(error, SecretKeyError):
        return (
            "invoicebot cannot open its stored provider credentials: the operator's secret "
            "key changed. Ask whoever runs invoicebot to restore it."
        )
    if not isinstance(error, ProviderError):
        return UNEXPECTED
    text = plain(error.message) or "The provider refused the request."
    if isinstance(error, RateLimited) and error.retry_after:
        text += f" Try again in {math.ceil(error.retry_after)} s."
    elif isinstance(error, BadCredentials) and "reconnect" not in text.lower():
        text += " An admin can reconnect the provider with `/invoices connect`."
    elif isinstance(error, PaymentRejected) and "another" not in text.lower():
        text += " Try another card or method."
    elif isinstance(error, ProviderUnavailable) and "again" not in text.lower():
        text += " Try again in a few minutes."
    return text


def said(error: BaseException) -> str:
    """`say(error)` ready for mrkdwn: escaped, except invoicebot's own sentences (which
    mention people as <@U…> and escape what they quote when they are written)."""
    text = say(error)
    return text if getattr(error, "markup", False) else escape(text)


def log_error(error: BaseException, where: str) -> None:
    """Provider errors are expected: a line at WARNING. Anything else: one traceback."""
    if isinstance(error, ProviderError):
        log.warning("%s: %s: %s", where, type(error).__name__, error.message)
    else:
        log.error("%s failed unexpectedly", where, exc_info=error)


def failure_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not done"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {text}"}}],
    }


async def tell(error: BaseException, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    """Log `error` once and show the person one sentence where they are looking."""
    kind = body.get("type") or ("command" if body.get("command") else "request")
    log_error(error, f"Slack {kind}")
    if respond is None or not body.get("response_url"):
        return
    shown = f":warning: {said(error)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": shown}}]
    container = body.get("container") or {}
    clicked = kind == "block_actions" and (
        container.get("type") == "message" or isinstance(body.get("message"), dict)
    )
    if clicked:  # the clicked message says "Asking …": it becomes the answer
        back = {
            "type": "button",
            "action_id": BACK,
            "text": {"type": "plain_text", "text": "Back to the list"},
        }
        blocks.append({"type": "actions", "elements": [back]})
    try:
        await respond(
            replace_original=clicked, response_type="ephemeral", text=shown, blocks=blocks
        )
    except Exception as failed:
        log.warning("could not tell the person about an error: %r", failed)


def shielded(listener: Listener) -> Listener:
    """`listener` with the error boundary around it, for Bolt to register.

    Bolt's own error path loses an ack that was given just before the listener raised
    (the request then answers 404 after 3 s), so errors are caught here, after an ack
    if none was given yet, and told to the person the same way as everywhere else.
    """
    wanted = inspect.getfullargspec(listener).args

    async def run(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        command: dict[str, Any] | None,
        event: dict[str, Any] | None,
    ) -> None:
        given = {
            "ack": ack, "body": body, "respond": respond, "client": client,
            "command": command, "event": event,
        }  # fmt: skip
        try:
            await listener(**{name: given[name] for name in wanted})
        except Exception as error:
            if body.get("type") == "view_submission":
                await _fail_in_view(error, body, ack, client)
                return
            if ack.response is None and body.get("type") != "event_callback":
                await ack()
            await tell(error, body, respond)

    return run


async def _fail_in_view(
    error: Exception, body: dict[str, Any], ack: AsyncAck, client: AsyncWebClient
) -> None:
    """A dialog shows what went wrong: through the ack if none was given yet, else by
    updating the view it was left on ("Sending…", "Creating…")."""
    log_error(error, "Slack view_submission")
    view = failure_view(said(error))
    if ack.response is None:
        await ack(response_action="update", view=view)
        return
    view_id = (body.get("view") or {}).get("id")
    if view_id:
        try:
            await client.views_update(view_id=view_id, view=view)
        except Exception as failed:
            log.warning("could not show an error in the dialog: %r", failed)


async def on_error(
    error: Exception,
    body: dict[str, Any],
    respond: AsyncRespond | None,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """Bolt's error handler, for what fails outside a shielded listener: never a 500."""
    if response is not None and body.get("type") == "view_submission":
        log_error(error, "Slack view_submission")
        return BoltResponse(
            status=200,
            body={"response_action": "update", "view": failure_view(said(error))},
        )
    await tell(error, body, respond)
    return BoltResponse(status=200, body="") if response is not None else None
