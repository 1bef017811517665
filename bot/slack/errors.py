"""The one place an error becomes words for a person, and Slack's error boundary.

Listeners let errors rise; Bolt hands them to `on_error`, which logs protocol detail
(status codes, request ids, exception classes) for the operator and shows the person one
plain sentence with the next step. An unexpected exception still gets a message, and
exactly one traceback in the log.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.checkout import NeedsApproval
from bot.provider import PaymentRejected
from bot.slack.blocks.approvals import APPROVE, REJECT
from bot.slack.blocks.kit import md
from bot.slack.priority import SLACK_ACK_SECONDS, deadlines
from bot.slack.progress import not_taken_after_error, post_answer
from bot.slack.responses import DirectRespond
from bot.slack.values import BACK, COPY_LINK, GET_LINK, PAY, PAY_APPROVED, BadValue, PayTarget
from bot.text import dialog_too_late, escape, log_error, say

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]
KEPT = {PAY_APPROVED, COPY_LINK, APPROVE, REJECT}
"""Clicks whose message must stay as it is: an error about them comes as a new message.
A copied link comes under the list, the digest or #billing's failure notice, which stay
for whoever works through them next; an approval request keeps its Approve and Reject."""


def said(error: BaseException, *, refused_next: str | None = None) -> str:
    """`say(error)` ready for mrkdwn: escaped, except invoicebot's own sentences (which
    mention people as <@U…> and escape what they quote when they are written)."""
    text = say(error, refused_next=refused_next)
    return text if getattr(error, "markup", False) else escape(text)


def failure_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not done"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": md(f":warning: {text}")}],
    }


async def tell(error: BaseException, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    """Log `error` once and show the person one sentence where they are looking."""
    kind = body.get("type") or ("command" if body.get("command") else "request")
    log_error(error, f"Slack {kind}")
    if respond is None or not _answerable(body, respond):
        return
    shown = f":warning: {said(error)}"
    # Escaped provider text can outgrow a section; Slack would refuse the answer whole.
    blocks: list[dict[str, Any]] = [{"type": "section", "text": md(shown)}]
    container = body.get("container") or {}
    action_id = (body.get("actions") or [{}])[0].get("action_id")
    clicked = (
        kind == "block_actions"
        and action_id not in KEPT
        and not dialog_too_late(error)  # the click opens a dialog: nothing said "Asking …"
        and (container.get("type") == "message" or isinstance(body.get("message"), dict))
    )
    if clicked:  # the clicked message says "Asking …": it becomes the answer
        back = {
            "type": "button",
            "action_id": BACK,
            "text": {"type": "plain_text", "text": "Back to the list"},
        }
        elements: list[dict[str, Any]] = [back]
        if again := _choose_again(error, body):
            elements.insert(0, again)
        blocks.append({"type": "actions", "elements": elements})
    message = {"response_type": "ephemeral", "text": shown, "blocks": blocks}
    try:
        if not await post_answer(respond, replace_original=clicked, **message) and clicked:
            not_taken_after_error(message)  # else "Asking …" stood for good
    except Exception as failed:
        log.warning("could not tell the person about an error: %r", failed)


def _choose_again(error: BaseException, body: dict[str, Any]) -> dict[str, Any] | None:
    """After a refused start (a declined saved card, a changed amount): the pay menu
    again, for the same invoices, so the person can pick another card or method."""
    if not isinstance(error, PaymentRejected | NeedsApproval):
        return None
    actions = body.get("actions") or [{}]
    if actions[0].get("action_id") != GET_LINK:
        return None
    try:
        target = PayTarget.decode(str(actions[0].get("value", "")))
    except BadValue:
        return None
    again = PayTarget(target.provider, target.invoice_ids).encode()
    return {
        "type": "button",
        "action_id": PAY,
        "value": again,
        "style": "primary",
        "text": {
            "type": "plain_text",
            "text": "Open the pay menu" if isinstance(error, NeedsApproval) else "Try again",
        },
    }


def shielded(listener: Listener, *, message_only: bool = False) -> Listener:
    """`listener` with the error boundary around it, for Bolt to register.

    A `message_only` listener answers through the clicked message's response URL (or,
    from App Home, in the person's messages). Slack sends its buttons only in messages,
    so a click on one from a dialog is not Slack's: it is acked and dropped, quietly.

    Bolt's own error path loses an ack that was given just before the listener raised
    (the request then answers 404 after 3 s), so errors are caught here, after an ack
    if none was given yet, and told to the person the same way as everywhere else.

    The app runs with `process_before_response`, so Bolt answers Slack when this returns:
    the listener runs as its own task and this returns as soon as it has acked (or
    finished). Bolt's default instead polls for the ack every 10 ms, which adds up to
    10 ms to every ack and wakes the loop 100 times a second per request in flight.
    """
    wanted = inspect.getfullargspec(listener).args

    async def guarded(given: dict[str, Any], ack: AsyncAck) -> None:
        body: dict[str, Any] = given["body"]
        try:
            await listener(**{name: given[name] for name in wanted})
        except Exception as error:
            if body.get("type") == "view_submission":
                await _fail_in_view(error, body, ack, given["client"])
                return
            if ack.response is None and body.get("type") != "event_callback":
                await ack()
            await tell(error, body, given["respond"])

    async def run(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        command: dict[str, Any] | None,
        event: dict[str, Any] | None,
    ) -> None:
        if message_only and not _answerable(body, respond):
            log.info("dropped a click on a message's button that came from a dialog")
            await ack()
            return
        answered = asyncio.get_running_loop().create_future()
        signalling = _SignallingAck(ack, answered)
        given = {
            "ack": signalling, "body": body, "respond": respond, "client": client,
            "command": command, "event": event,
        }  # fmt: skip
        work = asyncio.create_task(guarded(given, signalling))
        _running.add(work)
        work.add_done_callback(_running.discard)
        work.add_done_callback(lambda _: _settle(answered))
        if body.get("type") == "event_callback":
            return  # events are acked by Bolt when this returns; the work goes on
        deadlines(answered.get_loop()).add(answered, ACK_WAIT)  # answer Slack by then
        await answered

    run.shielded = True  # type: ignore[attr-defined]
    return run


def _answerable(body: dict[str, Any], respond: AsyncRespond | None) -> bool:
    return respond is not None and (
        bool(body.get("response_url")) or isinstance(respond, DirectRespond)
    )


ACK_WAIT = SLACK_ACK_SECONDS  # Slack gives up on an ack then; so does the wait for one
_running: set[asyncio.Task[None]] = set()  # listeners' tasks, kept until they end


async def finish_listeners(within: float) -> None:
    """At shut-down: let acked listeners finish their work (a list on its way to Slack)
    before the HTTP session closes under them; whatever is left after `within` s stops."""
    if not _running:
        return
    _, late = await asyncio.wait(set(_running), timeout=within)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)


class _SignallingAck(AsyncAck):
    """The listener's `ack`: Bolt's own, which also lets `run` return to answer Slack."""

    def __init__(self, inner: AsyncAck, answered: asyncio.Future[None]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.answered = answered

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return await self.inner(*args, **kwargs)
        finally:
            self.response = self.inner.response
            _settle(self.answered)


def _settle(answered: asyncio.Future[None]) -> None:
    if not answered.done():
        answered.set_result(None)


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
