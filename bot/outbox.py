"""Sends queued Slack calls until Slack takes them: the confirmation is never lost,
and never posted twice.

Rows are written in the same transaction as the state change they announce; this
sender retries 429 (after `Retry-After`), 5xx and network errors with backoff, gives up
only on errors that retrying cannot fix, and picks up where it left off after a restart.

`chat.postMessage` has no idempotency key, so a post marked with message metadata is
sent with care: the row notes that a call is under way before making it; a call whose
answer never came (a reset connection, a 5xx, a crash) leaves that note, and before
posting again the sender looks for the marked message among the channel's recent
messages and adopts it if Slack did post it. The HTTP client underneath never retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import PaymentState
from bot.store import OutboxItem, Store
from bot.text import escape
from bot.workspaces import BotTokens

SETTLEMENT_EVENT = "invoicebot_settlement"
"""Message metadata `event_type` on each confirmation (set by `bot.notifier`)."""
DIGEST_EVENT = "invoicebot_digest"
"""Message metadata `event_type` on each scheduled digest (set by `bot.scheduler`)."""
POST_EVENT = "invoicebot_post"
"""Every other post to a channel, marked with its outbox key: a failure or a paid-twice
notice to #billing shown twice would invite a second refund or a second look."""
MARKED_EVENTS = {SETTLEMENT_EVENT: "settlement_id", DIGEST_EVENT: "run", POST_EVENT: "key"}
"""Posts that must appear once, and the payload field that names each one."""

log = logging.getLogger(__name__)

RESPONSE_URL = "response_url"
"""Pseudo-method: POST `args["body"]` to `args["url"]` (a Slack response_url); when Slack
refuses the URL for good (expired, used up), `args["instead"]`, if given, is posted with
chat.postMessage."""
INSTEAD = "instead"
"""What is said instead when Slack refuses a call for good: see RESPONSE_URL, and
`to_admins` for a channel post. Never sent to Slack itself."""

THREAD_OF = "thread_of"
"""A reply's `args[THREAD_OF]`: the outbox key of the post whose thread it goes in, when
that post is queued too. Its ts is known only once it is sent (or adopted from the
channel after a stop), so the reply waits for it and takes it as `thread_ts`; if that
post was refused for good, the reply goes in the channel itself (see ALONE). Never sent
to Slack."""
ALONE = "alone"
"""A reply's `args[ALONE]`: its text worded to stand alone, posted instead when there is
no thread to put it in (the post it replies to was refused for good). When the channel
itself refused that post (`CHANNEL_REFUSALS`: archived, the bot not in it, gone), it goes
to the workspace's billing channel now (`billing`) if one is set, so a channel chosen
since hears it (in the thread of that post, if it was posted there again: `reposted`);
else to its own, in case the refusal was mended. Never sent to Slack."""


def reposted(key: str, channel: str) -> str:
    """The outbox key of the post queued under `key`, posted again to `channel` after its
    own channel refused it for good: the replies to it that go to `channel` (ALONE) go in
    that post's thread instead."""
    return f"{key}:in={channel}"


CHANNEL_REFUSALS = {
    "not_in_channel": "it is not a member of the channel: invite it with `/invite @invoicebot`",
    "is_archived": "the channel is archived: choose another with `/invoices billing`",
    "channel_not_found": (
        "the channel is gone (or private without invoicebot in it): choose another with "
        "`/invoices billing`"
    ),
}
"""Refusals that are the channel's fault, not the message's, in words for an admin."""

Admins = Callable[[str], Awaitable[Collection[str]]]
"""A workspace's invoicebot admins (user ids), by team id."""
Billing = Callable[[str], str | None]
"""A workspace's billing channel now (None: not chosen), by team id."""


def to_admins(fallback: str) -> dict[str, str]:
    """`args[INSTEAD]` of a channel post that must not be lost (a confirmation, a failure
    or a paid-twice notice): when the channel refuses it for good (`CHANNEL_REFUSALS`),
    it comes in a DM to each of the workspace's admins, saying why first; with no admin,
    to `fallback` (the payer or sender)."""
    return {"to": "admins", "else": fallback}


# Slack errors that will not go away by asking again.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "used_url",
        "expired_url",
    }
)


# A lookup for an earlier post that fails with these cannot be mended by waiting:
# the post goes ahead (README, Reliability: the bot must be a member of the channel).
# `thread_not_found`: a reply's thread whose root was deleted cannot be read again.
LOOKUP_IMPOSSIBLE = frozenset(
    {
        "missing_scope",
        "not_in_channel",
        "channel_not_found",
        "unknown_method",
        "not_allowed",
        "thread_not_found",
    }
)
LOOKUP_MARGIN = 60.0
"""Seconds before the first attempt from which the channel's history is searched."""
LOOKUP_PAGES = 10
LOOKUP_LIMIT = 15
"""Messages per page: what Slack gives new commercially distributed apps that are not in
its Marketplace (with one page a minute). The window is bounded on both sides (when the
post was tried, plus the lease it could take), so one page usually covers it."""
CLAIM_SECONDS = 45.0
"""How long a sender holds a row it is sending: longer than one call may take (30 s)."""
CHANNEL_GAP = 1.05
"""Seconds between two posts to one channel: Slack's one a second, and a little for the
way there."""
QUICKEST_ROUND = 0.01
"""The shortest pause between two rounds, however soon the next row is due."""
EARLIER_WAIT = 0.2
"""Seconds a payer's outcome waits while another process sends an earlier one."""


class Retry(Exception):
    def __init__(
        self, reason: str, after: float | None = None, *, done: bool = False, turn: bool = False
    ) -> None:
        super().__init__(reason)
        self.after = after
        self.done = done
        """True when Slack said for sure that the call did nothing (429)."""
        self.turn = turn
        """True when the row only waits for its channel's turn: no call, no attempt."""


class ChannelTurns:
    """When each channel may next be posted to, in this process's memory.

    On sqlite one process sends every post (the database admits no second sender), so
    what it remembers is the whole truth; processes sharing PostgreSQL take their turns
    from the database instead (`Store.reserve_post`), with the same answers."""

    def __init__(self) -> None:
        self._free: dict[str, float] = {}

    def reserve(self, channel: str, now: float, gap: float, max_wait: float) -> tuple[bool, float]:
        """(True, when the post may go) and the slot is taken, if that is within
        `max_wait`; otherwise (False, when the channel is next free) and nothing is."""
        free = self._free.get(channel, now)
        if free > now + max_wait:
            return False, free
        if len(self._free) > 1000:  # forget channels that are free anyway
            self._free = {c: at for c, at in self._free.items() if at > now}
        at = max(free, now)
        self._free[channel] = at + gap
        return True, at


class GiveUp(Exception):
    pass


class Overtaken(Exception):
    """The row's claim ran out before its call (a slow look for an earlier post, a wait
    for the channel's turn) and another sender took it: this one must not call."""


PAYER_NOTICES = ("ended", "in-doubt", "settled", "paid-twice")
"""The outcomes told to a payer (`bot.notifier`), keyed `<kind>:<payment id>` (an end
also `ended:<payment id>:<state>`, as a watched cancel can end again); one that could not
replace its message is said anew under `<key>:posted`."""
LINK_SHOWN = "link"
"""A payment's link that its click could not show when it was made (Slack failing),
keyed `link:<payment id>`: shown only while it can still be paid, so never over an
outcome of the payment, whichever was queued first."""


ENDS = frozenset(state.value for state in PaymentState)


def _payer_notice(key: str) -> tuple[str, str] | None:
    """The key an outcome (or a link) was queued under, and its payment, if `key` is one."""
    parts = key.split(":")
    if parts[0] == LINK_SHOWN and len(parts) == 2:
        return key, parts[1]
    if len(parts) > 2 and parts[-1] == "posted":
        parts = parts[:-1]
    if parts[0] not in PAYER_NOTICES or len(parts) not in (2, 3):
        return None
    if len(parts) == 3 and (parts[0] != "ended" or parts[2] not in ENDS):
        return None
    return ":".join(parts), parts[1]


def _payer_notices(payment_id: str) -> list[str]:
    """Every key a payer's outcome for this payment is queued under (see `PAYER_NOTICES`)."""
    return [f"{kind}:{payment_id}" for kind in PAYER_NOTICES] + [
        f"ended:{payment_id}:{state}" for state in sorted(ENDS)
    ]


APPROVAL_STATES = {"pending": 0, "approved": 1, "rejected": 1, "expired": 2}
"""The order a request's states follow (an approval expires after it was given)."""


def _approval_version(key: str) -> tuple[int, int] | None:
    """Where the DM rewrite keyed `approval:<request>:<viewer>:<state>:<count>` stands
    in its request's life: its state, then the approvals counted."""
    parts = key.split(":")
    if len(parts) != 5 or parts[0] != "approval" or not parts[4].isdigit():
        return None
    state = APPROVAL_STATES.get(parts[3])
    return None if state is None else (state, int(parts[4]))


def _redirected(args: dict[str, Any], refusal: str) -> dict[str, Any]:
    """The channel post refused with `refusal`, as a DM: the same record, one line first."""
    channel = str(args.get("channel"))
    where = f"<#{channel}>" if channel[:1] in ("C", "G") else escape(channel)
    note = f":warning: invoicebot could not post this to {where}: {CHANNEL_REFUSALS[refusal]}."
    message = {k: v for k, v in args.items() if k not in ("channel", "metadata", INSTEAD)}
    message["text"] = f"{note}\n{message.get('text') or ''}".strip()
    if isinstance(message.get("blocks"), list):
        lead = {"type": "section", "text": {"type": "mrkdwn", "text": note}}
        message["blocks"] = [lead, *message["blocks"]]
    return message


def marker(item: OutboxItem) -> str | None:
    """What a post is marked with (`event_type:key`) so that a post whose answer was lost
    is found instead of made again: a settlement's confirmation, a digest's period, and
    any other post, to a channel, a thread in one or a person, by its outbox key. A
    direct message is found with im:history; an install without it posts again."""
    if item.method != "chat.postMessage":
        return None
    own = _mark(item.args.get("metadata"))
    if own:
        return own
    return f"{POST_EVENT}:{item.key}"


DIRECT = ("U", "W")
"""What a person's id starts with: a post to one goes to the DM with them."""
NO_DM = frozenset({"user_not_found", "user_disabled", "user_not_visible", "cannot_dm_bot"})
"""conversations.open's refusals of a DM for good: the post itself is then tried, and
its own refusal handled as any post's."""


def _mark(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return None
    event = metadata.get("event_type")
    field = MARKED_EVENTS.get(str(event))
    value = (metadata.get("event_payload") or {}).get(field) if field else None
    return f"{event}:{value}" if value else None


class OutboxSender:
    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        http: aiohttp.ClientSession,
        *,
        first_delay: float = 1.0,
        max_delay: float = 300.0,
        tokens: BotTokens | None = None,
        lease: float = CLAIM_SECONDS,
        channel_gap: float = CHANNEL_GAP,
        admins: Admins | None = None,
        billing: Billing | None = None,
    ) -> None:
        """`tokens`: each row is sent with its workspace's bot token (installed by OAuth);
        without, every row goes out with `client`'s own token. `lease`: how long a row
        taken for sending stays this sender's if it dies mid-call. `channel_gap`: on a
        shared database (PostgreSQL), posts to one channel are this far apart across
        every process; one process on sqlite posts as Slack lets it (429s are retried).
        `admins`: who hears of a channel post the channel refused (`to_admins`).
        `billing`: where a reply goes whose thread's channel refused its post (ALONE)."""
        self.store = store
        self.admins = admins
        self.billing = billing
        self.client = client
        self.tokens = tokens
        self.http = http
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.lease = lease
        self.channel_gap = channel_gap
        self.turns = ChannelTurns()
        self.wake = asyncio.Event()
        self._searched: dict[int, tuple[float, str, int]] = {}
        """A search for an earlier post cut short by Slack (429), by row id: (the
        attempt it is for, the cursor of the page it stopped at, pages read). Slack lets
        apps outside its Marketplace read one history page a minute, so a search begun
        again from the first page each minute would never reach the second."""

    async def _client_for(self, team_id: str | None) -> AsyncWebClient:
        if self.tokens is None:
            return self.client
        token = await self.tokens.token(team_id)
        if token is None:
            raise GiveUp("the workspace has no bot token (invoicebot was removed from it)")
        return AsyncWebClient(
            token=token,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=[],  # as `client`: a lost answer is looked for, not re-sent
        )

    async def _slack(
        self, method: str, args: dict[str, Any], *, read: bool = False, team_id: str | None = None
    ) -> dict[str, Any]:
        """One Web API call, its failure sorted into Retry (with `done` when Slack surely
        did nothing) or GiveUp. Reads go as GET query arguments: Slack ignores a JSON
        body on its read methods."""
        client = await self._client_for(team_id)
        try:
            if read:
                query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in args.items()}
                response = await client.api_call(method, http_verb="GET", params=query)
            else:
                response = await client.api_call(method, json=args)
        except SlackApiError as error:
            status = error.response.status_code
            data = error.response.data
            code = str(data.get("error", "")) if isinstance(data, dict) else ""
            if status == 429 or code == "ratelimited":
                after = float(error.response.headers.get("Retry-After", self.first_delay))
                raise Retry("ratelimited", after, done=True) from None
            if status >= 500:
                raise Retry(f"Slack answered {status}") from None
            if code in PERMANENT_ERRORS:
                raise GiveUp(code) from None
            raise Retry(code or f"Slack answered {status}") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Retry(f"network: {error!r}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _find_posted(self, item: OutboxItem, mark: str) -> tuple[str | None, bool]:
        """The ts of a message in the channel carrying `mark`, if an earlier call posted it,
        and whether the whole window was searched (False when the lookup was impossible or
        the window had more pages than are read). A reply is looked for in its thread
        (`conversations.replies`): the channel's history does not show replies."""
        assert item.attempted_at is not None
        conversation = await self._conversation(item)
        if conversation is None:
            return None, False
        cursor, first = "", 0
        kept = self._searched.pop(item.id, None)
        if kept is not None and kept[0] == item.attempted_at:
            _, cursor, first = kept
        if len(self._searched) > 1000:  # rows another process finished meanwhile
            self._searched.clear()
        for read in range(first, LOOKUP_PAGES):
            args: dict[str, Any] = {
                "channel": conversation,
                "oldest": f"{item.attempted_at - LOOKUP_MARGIN:.6f}",
                "latest": f"{item.attempted_at + self.lease + LOOKUP_MARGIN:.6f}",
                "include_all_metadata": True,
                "limit": LOOKUP_LIMIT,
            }
            if cursor:
                args["cursor"] = cursor
            method = "conversations.history"
            if item.args.get("thread_ts"):
                method, args["ts"] = "conversations.replies", item.args["thread_ts"]
            try:
                page = await self._slack(method, args, read=True, team_id=item.team_id)
            except GiveUp as error:
                log.warning("cannot look for an earlier post of %s (%s)", item.key, error)
                return None, False
            except Retry as retry:
                if str(retry) in LOOKUP_IMPOSSIBLE:
                    log.warning("cannot look for an earlier post of %s (%s)", item.key, retry)
                    return None, False
                # Only Slack's history limit (429) leaves the page it stopped at worth
                # asking for again: a cursor refused for itself (`invalid_cursor`, no
                # longer valid) would be refused the same way every round, for ever.
                if cursor and retry.done:  # the pages read need not be read again
                    self._searched[item.id] = (item.attempted_at, cursor, read)
                raise Retry(f"looking for an earlier post: {retry}", retry.after) from None
            for message in page.get("messages") or []:
                if _mark(message.get("metadata")) == mark:
                    return str(message.get("ts")), True
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return None, True
        return None, False

    async def _conversation(self, item: OutboxItem) -> str | None:
        """The id whose history holds the post: a person's id names no conversation
        there, so their DM's is asked for (`conversations.open`; a DM it had to open has
        no post to find). None when Slack will not say."""
        channel = str(item.args["channel"])
        if not channel.startswith(DIRECT):
            return channel
        try:
            opened = await self._slack(
                "conversations.open", {"users": channel}, team_id=item.team_id
            )
        except GiveUp as error:
            log.warning("cannot look for an earlier post of %s (%s)", item.key, error)
            return None
        except Retry as retry:
            if str(retry) in LOOKUP_IMPOSSIBLE | NO_DM:
                log.warning("cannot look for an earlier post of %s (%s)", item.key, retry)
                return None
            raise Retry(f"looking for an earlier post: {retry}", retry.after) from None
        found = (opened.get("channel") or {}).get("id")
        return str(found) if found else None

    def _hold(self, item: OutboxItem, held: list[float]) -> None:
        """Renew the row's claim right before its call, or raise `Overtaken`: what came
        before (a search of the channel, a wait for its turn) may have outlasted the
        claim, and a sender that took the row over meanwhile may be posting it too."""
        now = time.time()
        if not self.store.outbox_hold(item.id, held[0], now, self.lease):
            raise Overtaken(item.key)
        held[0] = now + self.lease

    def _threaded(self, item: OutboxItem) -> OutboxItem:
        """`item` with its THREAD_OF put as the `thread_ts` of the post it names, or
        Retry (nothing called) while that post is not sent yet."""
        parent = item.args.get(THREAD_OF)
        if parent is None:
            return item
        done, ts, due = self.store.outbox_result(str(parent))
        if not done:
            # Looked at again when that post is next tried: one Slack refuses for now is
            # tried less and less often, for as long as it lasts, and its replies with it.
            after = max(self.first_delay, (due or 0.0) - time.time())
            raise Retry("waiting for the post it replies to", after, done=True, turn=True)
        args = {k: v for k, v in item.args.items() if k not in (THREAD_OF, ALONE)}
        alone = item.args.get(ALONE)
        if ts:
            args["thread_ts"] = ts
        elif isinstance(alone, str):
            refusal = self.store.outbox_refusal(str(parent))
            now = self.billing(item.team_id or "") if self.billing else None
            if refusal in CHANNEL_REFUSALS and now:
                done, again, due = self.store.outbox_result(reposted(str(parent), now))
                if not done:
                    after = max(self.first_delay, (due or 0.0) - time.time())
                    raise Retry("waiting for the post it replies to", after, done=True, turn=True)
                if again:
                    args["channel"], args["thread_ts"] = now, again
                    return dataclasses.replace(item, args=args)
            args["text"] = alone
            if refusal in CHANNEL_REFUSALS and now and now != args.get("channel"):
                log.info(
                    "%s: %s refused the post it replies to (%s); posting it to %s",
                    item.key, args.get("channel"), refusal, now,
                )  # fmt: skip
                args["channel"] = now
        return dataclasses.replace(item, args=args)

    async def _call(self, item: OutboxItem, held: list[float]) -> tuple[str | None, bool]:
        """Make the call; returns the posted message's ts and whether it was adopted.
        `held`: when this sender's claim on the row ends (renewed before the call)."""
        item = self._threaded(item)
        if item.method == RESPONSE_URL:
            self._hold(item, held)
            await self._post_response_url(item.args["url"], item.args["body"])
            return None, False
        mark = marker(item)
        in_doubt = item.attempted_at is not None
        searched = False
        if mark and in_doubt:
            found, searched = await self._find_posted(item, mark)
            if found:
                return found, True
        await self._wait_for_channel(item)
        self._hold(item, held)
        if mark:
            # The channel showed no earlier post: the window moves to this call, or a
            # retry long after the first call (Slack down for minutes) whose answer is
            # lost would be looked for where it is not, and posted again.
            self.store.outbox_attempting(item.id, time.time(), moved=searched)
        args = {k: v for k, v in item.args.items() if k != INSTEAD}
        if mark and "metadata" not in args:
            args["metadata"] = {"event_type": POST_EVENT, "event_payload": {"key": item.key}}
        try:
            answer = await self._slack(item.method, args, team_id=item.team_id)
        except (Retry, GiveUp) as error:
            # Slack said this call did nothing; an earlier call's doubt stays.
            definite = isinstance(error, GiveUp) or (isinstance(error, Retry) and error.done)
            if definite and not in_doubt:
                self.store.outbox_not_done(item.id)
            raise
        return (str(answer["ts"]) if answer.get("ts") else None), False

    async def _wait_for_channel(self, item: OutboxItem) -> None:
        """Take this post's turn in its channel, or hand the row back until the channel
        is free, so a channel's backlog never holds up the posts to other channels.

        Processes sharing PostgreSQL take turns from the database and may wait for a turn
        up to half the row's lease (longer, and another process would take the row over
        while this one sleeps); the one process on sqlite keeps the turns in memory and
        waits for none: its next round comes when the row is due."""
        channel = item.args.get("channel")
        if item.method != "chat.postMessage" or not channel:
            return
        now = time.time()
        if self.store.shared:
            taken, at = self.store.reserve_post(str(channel), now, self.channel_gap, self.lease / 2)
        else:
            taken, at = self.turns.reserve(str(channel), now, self.channel_gap, 0.0)
        if not taken:
            after = max(at - now, QUICKEST_ROUND)
            raise Retry("waiting for the channel's turn", after, done=True, turn=True)
        if at > time.time():
            await asyncio.sleep(at - time.time())

    async def _post_response_url(self, url: str | None, body: dict[str, object]) -> None:
        if not url:
            raise GiveUp("the response URL cannot be opened (the secret key changed)")
        try:
            async with self.http.post(url, json=body) as response:
                text = await response.text()
                if response.status == 429:
                    raise Retry("ratelimited", float(response.headers.get("Retry-After", 1)))
                if response.status >= 500:
                    raise Retry(f"response_url answered {response.status}")
                if response.status >= 400:
                    raise GiveUp(f"response_url answered {response.status}: {text[:200]}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Retry(f"network: {error!r}") from None

    def _outdated(self, item: OutboxItem) -> bool:
        """A payer's outcome that a later one replaced: each replaces the same message (or
        says it anew), so one retried after a later outcome was queued would undo it. So
        is an approver's DM rewritten before the payment made under it was: "paid" is
        its last word (`bot.slack.approvals_paid`); and one rewritten for a state the
        request has since left, whichever process queued which first."""
        parts = item.key.split(":")
        if parts[0] == "approval" and len(parts) == 5:
            paid = f"approval-paid:{parts[1]}:{parts[2]}"
            if self.store.outbox_queued_after(item.key, [paid]):
                return True
            mine = _approval_version(item.key)
            return mine is not None and any(
                (newer := _approval_version(row["key"])) is not None and newer > mine
                for row in self._approval_rewrites(parts[1], parts[2])
            )
        notice = _payer_notice(item.key)
        if notice is None:
            return False
        origin, payment_id = notice
        if origin.startswith(f"{LINK_SHOWN}:"):
            payment = self.store.payment(payment_id)
            return (
                payment is None
                or payment.state not in (PaymentState.LINK_ISSUED, PaymentState.OPENED)
                or self.store.token_expiry(payment_id) <= time.time()
            )
        later = _payer_notices(payment_id)
        return self.store.outbox_queued_after(origin, [key for key in later if key != origin])

    def _approval_rewrites(self, request_id: str, viewer: str) -> list[dict[str, Any]]:
        prefix = f"approval:{request_id}:{viewer}:"
        return [row for row in self.store.outbox_family(prefix) if row["key"].startswith(prefix)]

    def _overtaking(self, item: OutboxItem, now: float) -> bool:
        """A payer's outcome while an earlier one for the same message is being sent by
        another process: sent at once, it could reach Slack first and be replaced by the
        earlier one ("not known yet" shown after "paid"); it waits for that call. So does
        a rewrite of an approver's DM while an earlier one is on its way."""
        parts = item.key.split(":")
        if parts[0] in ("approval", "approval-paid") and len(parts) in (3, 5):
            return any(
                row["id"] < item.id
                and row["sent_at"] is None
                and row["gave_up_at"] is None
                and (row["claimed_until"] or 0) > now
                for row in self._approval_rewrites(parts[1], parts[2])
            )
        notice = _payer_notice(item.key)
        if item.method != RESPONSE_URL or notice is None:
            return False
        origin, payment_id = notice
        earlier = [f"{LINK_SHOWN}:{payment_id}", *_payer_notices(payment_id)]
        return self.store.outbox_sending_before(
            item.key, [key for key in earlier if key != origin], now
        )

    async def _instead(self, item: OutboxItem, error: GiveUp) -> list[tuple[str, dict[str, Any]]]:
        """The posts (key, args) that say what Slack refused for good, if any: each keyed
        after the refused row, so however often it is refused, each goes once."""
        instead = item.args.get(INSTEAD)
        if not isinstance(instead, dict) or self._outdated(item):
            return []
        if item.method == RESPONSE_URL:
            log.info("%s could not replace its message (%s); posting it", item.key, error)
            return [(f"{item.key}:posted", instead)]
        refusal = str(error)
        if item.method != "chat.postMessage" or instead.get("to") != "admins":
            return []
        if refusal not in CHANNEL_REFUSALS:
            return []  # the message itself is wrong: it would be refused in a DM too
        admins = await self.admins(item.team_id or "") if self.admins else ()
        fallback = instead.get("else")
        people = sorted(admins) or ([str(fallback)] if fallback else [])
        log.warning(
            "%s refused by %s (%s); sent to %s instead",
            item.key,
            item.args.get("channel"),
            refusal,
            ", ".join(people),
        )
        message = _redirected(item.args, refusal)
        return [
            (f"{item.key}:instead={person}", {"channel": person, **message}) for person in people
        ]

    async def send_due(self) -> int:
        """Try every item that is due; return how many Slack accepted."""
        sent = 0
        for item in self.store.due_outbox(time.time()):
            claimed = time.time()
            if not self.store.outbox_claim(item.id, claimed, self.lease):
                continue  # another sender has it
            held = [claimed + self.lease]
            try:
                outdated = self._outdated(item)
            except Exception as unread:  # sent, it might undo a later outcome: try it later
                log.warning("%s: cannot tell whether it was replaced: %r", item.key, unread)
                delay = min(self.max_delay, self.first_delay * 2**item.attempts)
                self.store.outbox_retry(
                    item.id,
                    f"cannot tell whether replaced: {unread!r}",
                    time.time() + delay,
                    held_until=held[0],
                )
                continue
            if outdated:
                log.info("%s was replaced by a later outcome; not sending it", item.key)
                self.store.outbox_give_up(item.id, "replaced by a later outcome")
                continue
            if self._overtaking(item, claimed):
                self.store.outbox_later(item.id, time.time() + EARLIER_WAIT, held_until=held[0])
                continue
            try:
                ts, adopted = await self._call(item, held)
            except Overtaken:
                log.warning("%s was taken over by another sender before its call", item.key)
                continue
            except asyncio.CancelledError:
                self.store.outbox_release(item.id, held_until=held[0])  # the bot is stopping
                raise
            except Exception as error:
                if not isinstance(error, Retry | GiveUp):
                    log.exception("sending %s failed unexpectedly; will retry", item.key)
                    error = Retry(f"unexpected: {error!r}")
                if isinstance(error, GiveUp):
                    try:
                        instead = await self._instead(item, error)
                    except Exception as unread:  # who to tell is not known just now
                        log.warning("%s: cannot say whom to tell instead: %r", item.key, unread)
                        delay = min(self.max_delay, self.first_delay * 2**item.attempts)
                        self.store.outbox_retry(
                            item.id, f"{error}; {unread!r}", time.time() + delay, held_until=held[0]
                        )
                        continue
                    with self.store.transaction():
                        for key, args in instead:
                            self.store.enqueue(
                                "chat.postMessage", args, key=key, team_id=item.team_id
                            )
                        self.store.outbox_give_up(item.id, str(error))
                    if not instead:
                        log.error("Slack refused %s for good: %s", item.key, error)
                    continue
                assert isinstance(error, Retry)
                if error.turn:
                    self.store.outbox_later(
                        item.id, time.time() + (error.after or 0.0), held_until=held[0]
                    )
                    continue
                delay = error.after or min(self.max_delay, self.first_delay * 2**item.attempts)
                log.info("Slack call %s will be retried in %.1f s: %s", item.key, delay, error)
                # Only while the row is still this sender's (see `_hold`).
                self.store.outbox_retry(
                    item.id, str(error), time.time() + delay, held_until=held[0]
                )
            else:
                self.store.outbox_sent(item.id, ts, adopted=adopted)
                if adopted:
                    self.store.audit("outbox.adopted", subject=item.key, ts=ts)
                    log.info("%s was already posted (ts %s); adopted it", item.key, ts)
                sent += 1
        return sent

    def _pause(self, tick: float) -> float:
        """Until the next round: `tick`, or less when a row is due sooner (a post waiting
        for its channel's turn goes when the turn comes, not at the next tick)."""
        due = self.store.next_outbox_at(time.time())
        if due is None:
            return tick
        return min(tick, max(due - time.time(), QUICKEST_ROUND))

    async def run_forever(self, tick: float = 1.0) -> None:
        while True:
            pause = tick
            try:
                await self.send_due()
                pause = self._pause(tick)
            except Exception:
                log.exception("outbox round failed; trying again")
            self.wake.clear()
            # Not `wait_for`: on Python 3.11 it can swallow a cancellation that arrives as
            # the event is set, and the sender would then never stop.
            waiter = asyncio.ensure_future(self.wake.wait())
            try:
                await asyncio.wait([waiter], timeout=pause)
            finally:
                waiter.cancel()
