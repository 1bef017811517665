"""What a person sees while a provider is asked: something within a second of a click,
and an answer (or a clear word that the provider is slow) within about twelve.

A click's `response_url` may replace the clicked message up to five times, so the
message first says what is happening, then shows the result. Reads have a time budget;
a call that could charge is never cut short, and the person is told it is still going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncRespond

from bot.outbox import RESPONSE_URL
from bot.provider import ProviderUnavailable
from bot.slack.blocks.kit import escape
from bot.slack.blocks.listing import notice
from bot.slack.services import Services

T = TypeVar("T")
log = logging.getLogger(__name__)

READ_BUDGET = 10.0
"""Seconds a click waits for a provider read (retries included) before saying it is slow."""

CHARGE_PATIENCE = 10.0
"""Seconds before a person hears that a payment start is still waiting for the provider."""


STAND_IN_AFTER = 300.0
"""Seconds after a click that its stand-in answer is due (`standing_in`): far past a
read's budget and Slack's slowest answers, so a bot that is up has always answered by
then. It is how long a stopped process's stand-ins wait on a shared database; alone on
a sqlite file, a restart sends them at once (`STAND_IN_KEY`)."""

STAND_IN_KEY = "stand-in:"
"""Outbox key prefix of the stand-in answers."""

STOPPED = (
    ":warning: invoicebot stopped before it could answer this, so nothing was done. "
    "Type `/invoices` to start again."
)


@contextlib.asynccontextmanager
async def standing_in(
    svc: Services, body: dict[str, Any], stopped: str = STOPPED
) -> AsyncIterator[Callable[[], None]]:
    """Around answering a click whose message reads "Asking…" meanwhile. A bot that dies
    first (a kill -9, a lost host) would leave that note standing for good, with the
    buttons it replaced gone; so a plain answer saying nothing was done waits in the
    outbox, due `STAND_IN_AFTER` s later, and is withdrawn once the click is answered.
    After a restart the outbox sends it through the click's response URL; so it does
    after a stop that cancelled the click once its grace was over.

    Yields what to call just before the answer is sent: once Slack may have it, the
    stand-in must not follow it (a stop cutting short its send, a kill right after),
    for the message may by then be a payment's link, or its confirmation."""
    url, trigger = body.get("response_url"), body.get("trigger_id")
    if not url or not trigger:
        yield lambda: None
        return
    key = f"{STAND_IN_KEY}{trigger}"
    args = {"url": url, "body": {"replace_original": True, **notice(stopped)}}
    team = (body.get("team") or {}).get("id")
    svc.store.enqueue(RESPONSE_URL, args, key=key, team_id=team, after=STAND_IN_AFTER)
    try:
        yield lambda: svc.store.outbox_withdraw(key)
    except Exception:  # answered by the error handler
        svc.store.outbox_withdraw(key)
        raise
    svc.store.outbox_withdraw(key)


def charge_patience() -> float:
    return CHARGE_PATIENCE


def title_of(svc: Services, provider: str) -> str:
    cls = svc.connections.find_class(provider)
    return cls.title if cls else "the provider"


async def busy(respond: AsyncRespond, doing: str) -> None:
    """Replace the clicked message with what is happening now (`doing` is escaped)."""
    await respond(replace_original=True, **notice(f":hourglass_flowing_sand: {escape(doing)}…"))


async def read(call: Awaitable[T], title: str, budget: float | None = None) -> T:
    """A provider read within the click's budget; a slow one becomes a plain refusal."""
    budget = READ_BUDGET if budget is None else budget
    try:
        return await asyncio.wait_for(call, budget)
    except TimeoutError:
        raise ProviderUnavailable(
            f"{title} is slow to answer right now (nothing in {budget:g} s), so nothing "
            "was done. Try again in a minute."
        ) from None


async def patiently(
    call: Awaitable[T], respond: AsyncRespond, title: str, *, in_place: bool = True
) -> T:
    """A call that may charge: never cut short; past `CHARGE_PATIENCE` the person hears
    that it is still going, and the message changes again when the provider answers.
    Not `in_place`: the answer comes as a new message, so the note does too."""
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.wait_for(asyncio.shield(task), charge_patience())
    except TimeoutError:
        then = (
            "this message changes as soon as it answers"
            if in_place
            else "the answer comes below as soon as it is there"
        )
        try:
            await respond(
                replace_original=in_place,
                **notice(
                    f":hourglass_flowing_sand: {escape(title)} is slow to answer. invoicebot "
                    f"keeps waiting and {then}; please do not click again."
                ),
            )
        except Exception as failed:  # the payment goes on even if Slack did not take this
            log.warning("could not say that the provider is slow: %r", failed)
        return await task
