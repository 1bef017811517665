"""What a person sees while a provider is asked: something within a second of a click,
and an answer (or a clear word that the provider is slow) within about twelve.

A click's `response_url` may replace the clicked message up to five times, so the
message first says what is happening, then shows the result. Reads have a time budget;
a call that could charge is never cut short, and the person is told it is still going.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncRespond

from bot.outbox import LINK_SHOWN, RESPONSE_URL
from bot.provider import ProviderUnavailable
from bot.slack.blocks.kit import escape
from bot.slack.blocks.listing import notice
from bot.slack.services import Services
from bot.store import SECRET_BODY

if TYPE_CHECKING:
    from bot.store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)

READ_BUDGET = 10.0
"""Seconds a click waits for a provider read (retries included) before saying it is slow."""

CHARGE_PATIENCE = 10.0
"""Seconds before a person hears that a payment start is still waiting for the provider."""


STAND_IN_AFTER = 300.0
"""Seconds after a click's "Asking…" note that its stand-in answer is due
(`standing_in`): far past a read's budget and Slack's slowest answers, so a bot that
is up has always answered by then. It is how long a stopped process's stand-ins wait on
a shared database; alone on a sqlite file, a restart sends them at once (`STAND_IN_KEY`)."""

STAND_IN_KEY = "stand-in:"
"""Outbox key prefix of the stand-in answers."""
STANDING_IN = (STAND_IN_KEY, f"{LINK_SHOWN}:")
"""Outbox key prefixes of what waits `STAND_IN_AFTER` for a click's answer a stop may
cut short: the stand-ins, and a payment's link on its way (`show_link`)."""

STOPPED = (
    ":warning: invoicebot stopped before it could answer this, so nothing was done. "
    "Type `/invoices` to start again."
)

UNSHOWN_KEY = "unshown:"
"""Outbox key prefix of the notes that stand for an answer Slack did not take."""

UNSURE = (
    ":warning: Slack did not say whether it showed invoicebot's answer above. If that "
    "message still reads “Asking…” or “Fetching…”, the answer was lost and nothing was "
    "paid: type `/invoices` to start again."
)

UNSHOWN = (
    ":warning: Slack did not take invoicebot's answer, so it could not be shown here; "
    "nothing was done. Type `/invoices` to start again."
)


@dataclass
class StandIn:
    """A click's stand-in answer (`standing_in`); with no `key`, a click that has none."""

    store: Store
    key: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    team: str | None = None
    unshown: str = UNSHOWN
    asked: bool = False

    def asking(self) -> None:
        """Just before the message is replaced by "Asking…": only from then would a
        stop leave it without its buttons. Before, they still work, and a click on them
        answered by another process must not be replaced by this stand-in later."""
        self.asked = True
        if self.key:
            self.store.enqueue(
                RESPONSE_URL, self.args, key=self.key, team_id=self.team, after=STAND_IN_AFTER
            )

    def answering(self) -> None:
        """Just before the answer is sent: once Slack may have it, the stand-in must not
        follow it (a stop cutting short its send, a kill right after), for the message
        may by then be a payment's link, or its confirmation."""
        if self.key:
            self.store.outbox_withdraw(self.key)

    def not_taken(self, message: dict[str, Any] | None = None) -> None:
        """Slack took none of the answer (5xx or 429 past the retries, no connection):
        the message still reads "Asking…", with no buttons, so nothing newer can be on
        it; `message` (else `unshown`) takes its place through the outbox, which tries
        again while Slack fails and gives up once the response URL is spent. Without
        it the note stood."""
        if self.key and self.asked:
            message = message or notice(self.unshown)
            args = {"url": self.args["url"], "body": {**message, "replace_original": True}}
            key = f"{UNSHOWN_KEY}{self.key.removeprefix(STAND_IN_KEY)}"
            self.store.enqueue(RESPONSE_URL, args, key=key, team_id=self.team)

    def refused(self) -> None:
        """An error raised after `standing_in` ended, while the message still reads
        "Asking…" with nothing to click (a start the provider refused): the error handler
        queues it should Slack not take it, as for one that ended the stand-in."""
        _FAILED.set(self)

    async def answer(self, respond: AsyncRespond, **message: Any) -> None:
        """Send the click's answer, the stand-in withdrawn first (`answering`).

        Should its answer be lost or late (a reset connection, a time-out), Slack may
        have shown it, and the person clicked on it since: anything put in its place
        could land over a newer message, a payment's link say. So nothing is: a note
        comes below instead, for the case that it still reads "Asking…"."""
        self.answering()
        try:
            taken = await post_answer(respond, **message)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("Slack may not have taken a click's answer: %r", error)
            if self.asked:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await respond(replace_original=False, **notice(UNSURE))
            return
        if not taken:
            self.not_taken()


async def post_answer(respond: AsyncRespond, **message: Any) -> bool:
    """Post a click's answer; False when Slack took none of it (5xx or 429 past the
    retries, no connection at all). A time-out or a lost answer is raised: Slack may have
    shown it, and the person clicked on it since."""
    try:
        sent = await respond(**message)
    except aiohttp.ClientConnectorError as error:
        log.warning("Slack could not be reached with a click's answer: %r", error)
        return False
    if sent.status_code >= 500 or sent.status_code == 429:
        log.warning("Slack answered %s to a click's answer", sent.status_code)
        return False
    return True


_FAILED: contextvars.ContextVar[StandIn | None] = contextvars.ContextVar("failed", default=None)
"""The stand-in of the click whose `standing_in` an error ended, in that click's task."""


def not_taken_after_error(message: dict[str, Any]) -> None:
    """`StandIn.not_taken` for the error handler, which answers a click only after its
    `standing_in` let the error through (and withdrew the stand-in)."""
    if (stand := _FAILED.get()) is not None:
        stand.not_taken(message)


@contextlib.asynccontextmanager
async def standing_in(
    svc: Services, body: dict[str, Any], stopped: str = STOPPED, unshown: str = UNSHOWN
) -> AsyncIterator[StandIn]:
    """Around answering a click whose message reads "Asking…" meanwhile. A bot that dies
    first (a kill -9, a lost host) would leave that note standing for good, with the
    buttons it replaced gone; so a plain answer saying nothing was done waits in the
    outbox from when the note is shown (`StandIn.asking`), due `STAND_IN_AFTER` s later,
    and is withdrawn as the click is answered (`StandIn.answering`). After a restart
    the outbox sends it through the click's response URL; so it does after a stop that
    cancelled the click once its grace was over. `unshown`: what the message says should
    Slack not take the answer (`StandIn.not_taken`)."""
    url, trigger = body.get("response_url"), body.get("trigger_id")
    if not url or not trigger:
        yield StandIn(svc.store)
        return
    args = {"url": url, "body": {"replace_original": True, **notice(stopped)}}
    team = (body.get("team") or {}).get("id")
    stand = StandIn(svc.store, f"{STAND_IN_KEY}{trigger}", args, team, unshown)
    try:
        yield stand
    except Exception:  # answered by the error handler
        stand.answering()
        _FAILED.set(stand)
        raise
    stand.answering()
    _FAILED.set(None)


async def show_link(
    svc: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    payment_id: str,
    message: dict[str, Any],
) -> None:
    """Replace the clicked "Asking…" note with a payment's link. Should Slack not take it
    now (5xx or 429 past the retries, a lost connection, a time-out), the outbox shows it
    when Slack does: else the note stood until the link expired, and nobody could pay.
    It waits in the outbox from before the call, as a click's stand-in does, for a stop
    mid-call to leave it too; withdrawn once Slack took the link. The outbox drops it
    once the payment has an outcome (`bot.outbox.LINK_SHOWN`)."""
    url = body.get("response_url")
    key = f"{LINK_SHOWN}:{payment_id}"
    team = (body.get("team") or {}).get("id")
    args = {"url": url, "body": {"replace_original": True, **message}, SECRET_BODY: True}
    if url:
        svc.store.enqueue(RESPONSE_URL, args, key=key, team_id=team, after=STAND_IN_AFTER)
    try:
        if await post_answer(respond, replace_original=True, **message):
            svc.store.outbox_withdraw(key)
            return
    except (aiohttp.ClientError, TimeoutError) as error:  # the same link again is safe
        log.warning("Slack may not have taken payment %s's link: %r", payment_id, error)
    if url:  # due now: withdrawn and queued again, unless a sender has it already
        with svc.store.transaction():
            svc.store.outbox_withdraw(key)
            svc.store.enqueue(RESPONSE_URL, args, key=key, team_id=team)


async def post_link(
    svc: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    payment_id: str,
    message: dict[str, Any],
) -> None:
    """Post a payment's link as a new message, the clicked one left as it was. Should
    Slack take none of it (5xx or 429 past the retries, no connection), the outbox posts
    it when Slack does, and drops it once the payment has an outcome, as `show_link`.
    Not queued before the call, nor after a lost answer: Slack may have posted it, and
    a new message sent again is a second copy of the link, not the same one replaced."""
    if await post_answer(respond, replace_original=False, **message):
        return
    if url := body.get("response_url"):
        team = (body.get("team") or {}).get("id")
        args = {"url": url, "body": {"replace_original": False, **message}, SECRET_BODY: True}
        svc.store.enqueue(RESPONSE_URL, args, key=f"{LINK_SHOWN}:{payment_id}", team_id=team)


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
