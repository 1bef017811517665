"""Approvals in Slack: asking, deciding, and keeping every message about a request true.

The request goes to each approver and to the requester as a DM (conversations.open, then
chat.postMessage), and to the billing channel as the root of a thread. After every
decision or expiry, each of those DMs is rewritten with chat.update through the outbox,
so nobody sees a button that can no longer count and everybody sees the outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import GroupUnread
from bot.approvals import Binding, Outcome, Request, State, judge
from bot.kit.errors import retry_after
from bot.outbox import (
    ALONE,
    CHANNEL_REFUSALS,
    LOOKUP_LIMIT,
    LOOKUP_MARGIN,
    RESPONSE_URL,
    THREAD_OF,
    reposted,
)
from bot.payments import LIVE
from bot.provider import ProviderError
from bot.slack import dialogs, values
from bot.slack.actions import TAMPERED, refuse_unless_payer
from bot.slack.approvals_paid import decided_by as _decided
from bot.slack.approvals_settings import (
    on_add_bracket,
    on_open_settings,
    on_remove_bracket,
    on_settings_submit,
)
from bot.slack.blocks import approval_settings as dialog
from bot.slack.blocks import approvals as blocks
from bot.slack.blocks.kit import NUMBER_CHARS, escape, inline
from bot.slack.blocks.listing import notice
from bot.slack.blocks.paying import options_sum
from bot.slack.connect import result_view, submitted_values
from bot.slack.errors import shielded
from bot.slack.progress import read, title_of
from bot.slack.services import Services
from bot.text import SLACK_BUSY_CODES, say, slack_busy
from bot.workspaces import BotTokens

log = logging.getLogger(__name__)
Body = dict[str, Any]

WATCH_TICK = 1.0
"""Seconds between looks for approvals whose time ran out (one indexed query each)."""
REDELIVER_AFTER = 120.0
"""A request whose DMs were not all sent this long after it was made was cut short (the
bot stopped): they are sent then, by one process (each request is taken this long)."""
RETRY_DELIVERY = 30.0
"""Seconds before a DM that Slack refused for now is sent again, when it named no wait."""
DM_EVENT = "invoicebot_approval"
"""Message metadata `event_type` on each request's DM; its payload names the request and
the person (`_mark`)."""


class NoChannel(Exception):
    """conversations.open answered without naming the DM."""


def _request_id(body: Body) -> str | None:
    value = str(body["actions"][0].get("value", ""))
    return value if blocks.REQUEST_ID.fullmatch(value) else None


def _root_key(request_id: str) -> str:
    """The outbox key of the request's post to the billing channel, the thread's root."""
    return f"approval-root:{request_id}"


def announce(
    svc: Services,
    request: Request,
    outcome: Outcome | None,
    user_id: str | None,
    *,
    under_way: bool = False,
) -> None:
    """Queue the rewrite of every message about `request` and a line in the billing
    thread; a repeated or refused click (or None) rewrites the messages only.
    `under_way`: it expired while a payment made under it may still take the money."""
    title = title_of(svc, request.provider)
    version = f"{request.state.value}:{len(request.approved_by)}"
    for viewer, channel, ts in svc.approvals.messages(request.id):
        decided = _decided(request, viewer)
        shown = blocks.request_message(request, title, viewer, decided, under_way=under_way)
        svc.store.enqueue(
            "chat.update",
            {"channel": channel, "ts": ts, **shown},
            key=f"approval:{request.id}:{viewer}:{version}",
            team_id=request.team_id,
        )
    # The thread is where the request was posted, whichever channel is #billing now: a
    # reply sent elsewhere with its ts would be taken by Slack and shown nowhere.
    billing = request.billing_channel or svc.teams.billing_channel(request.team_id)
    counted = (Outcome.COUNTED, Outcome.APPROVED, Outcome.REJECTED, Outcome.EXPIRED)
    if outcome in counted and billing is not None:
        line = blocks.thread_line(request, outcome, user_id, under_way=under_way)
        args: Body = {"channel": billing, "text": line}
        if request.billing_ts:
            args["thread_ts"] = request.billing_ts
        elif request.billing_channel:
            # Slack refused the root for good (the channel archived, say): the line goes
            # alone, to the billing channel chosen since if there is one (see ALONE).
            args[THREAD_OF] = _root_key(request.id)
            args[ALONE] = blocks.thread_line_alone(request, title, line)
        svc.store.enqueue(
            "chat.postMessage",
            args,
            key=f"approval-thread:{request.id}:{outcome}:{user_id}",
            team_id=request.team_id,
        )
    svc.approvals.changed()


def post_where_billing_is_now(svc: Services, team_id: str | None = None) -> None:
    """Post each waiting request whose post the billing channel refused for good
    (archived, invoicebot not in it, gone) to the billing channel now, once per channel:
    seen nowhere else, finance would hear of it only from its outcome. Its later lines
    go in that post's thread (`reposted`). Of one workspace, or (None) of all."""
    queued = False
    for request_id in svc.approvals.queued_to_billing(team_id):
        root = _root_key(request_id)
        if svc.store.outbox_refusal(root) not in CHANNEL_REFUSALS:
            continue
        # Under the approvals' lock: a decision counted meanwhile either finds this post
        # queued (its line waits for it) or has ended the request (nothing is posted).
        with svc.store.claim():
            request = svc.approvals.get(request_id)
            if request is None or not request.waiting(time.time()):
                continue
            billing = svc.teams.billing_channel(request.team_id)
            if billing is None:
                continue
            title = title_of(svc, request.provider)
            svc.store.enqueue(
                "chat.postMessage",
                {"channel": billing, **blocks.billing_root(request, title)},
                key=reposted(root, billing),
                team_id=request.team_id,
            )
            queued = True
    if queued:
        svc.approvals.changed()


def _mark(request_id: str, viewer: str) -> Body:
    """The metadata each DM carries, so that one whose answer was lost can be found."""
    return {"event_type": DM_EVENT, "event_payload": {"request": request_id, "viewer": viewer}}


async def _post_dm(
    svc: Services, client: AsyncWebClient, request_id: str, viewer: str, message: Body
) -> tuple[str, str]:
    """The DM's channel and the message's ts, which later chat.update calls need. The
    attempt is noted first, and the post is not re-sent by the client on a lost answer:
    the next delivery looks for it (`_find_dm`)."""
    opened = await client.conversations_open(users=viewer)
    channel = (opened.get("channel") or {}).get("id")
    if not channel:
        raise NoChannel(viewer)
    svc.approvals.attempting(request_id, viewer, str(channel))
    once = AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=[
            handler
            for handler in client.retry_handlers
            if not isinstance(handler, AsyncConnectionErrorRetryHandler)
        ],
    )
    try:
        posted = await once.chat_postMessage(
            channel=channel, metadata=_mark(request_id, viewer), **message
        )
    except SlackApiError as error:
        if _refused(error):
            svc.approvals.not_posted(request_id, viewer)
        raise
    return str(channel), str(posted["ts"])


def _refused(error: SlackApiError) -> bool:
    """Slack's answer says nothing was posted: its rate limit (429), or a refusal other
    than the ones that may come after part of the work was done (`fatal_error`, a 5xx)."""
    status = error.response.status_code
    data = error.response.data
    code = data.get("error") if isinstance(data, dict) else None
    return status == 429 or (status < 500 and bool(code) and code not in SLACK_BUSY_CODES)


async def _find_dm(
    svc: Services, client: AsyncWebClient, request_id: str, viewer: str
) -> tuple[str, str] | None:
    """The DM an earlier delivery posted without its answer reaching us, as (channel, ts).
    Only a DM in doubt is looked for: Slack lets apps outside its Marketplace read one
    history page a minute. None when there is none to find, or Slack will not let us look
    (no im:history, say): it is posted then. A refusal for now (Slack's limit) raises,
    and the next look reads on from where this one stopped."""
    attempt = svc.approvals.attempt(request_id, viewer)
    if attempt is None:
        return None
    channel, at, below = attempt
    mark = _mark(request_id, viewer)
    latest = below if below is not None else at + client.timeout + LOOKUP_MARGIN
    while True:
        try:
            page = await client.conversations_history(
                channel=channel,
                oldest=f"{at - LOOKUP_MARGIN:.6f}",
                latest=f"{latest:.6f}",
                include_all_metadata=True,
                limit=LOOKUP_LIMIT,
            )
        except SlackApiError as error:
            if slack_busy(error):
                raise
            log.warning("cannot look for the DM to %s about %s: %r", viewer, request_id, error)
            return None
        messages = page.get("messages") or []
        for message in messages:
            shown = message.get("metadata") or {}
            if {key: shown.get(key) for key in mark} == mark:
                return channel, str(message["ts"])
        older = min((float(message["ts"]) for message in messages), default=latest)
        if not page.get("has_more") or older >= latest:
            return None
        latest = older  # Slack's `latest` leaves out that message itself
        svc.approvals.searched_below(request_id, viewer, latest)


def _for_now(error: Exception) -> float | None:
    """Seconds to wait before asking again when Slack refused only for now (rate-limited,
    busy, unreachable); None when asking again cannot help (no such user, no DM)."""
    if isinstance(error, aiohttp.ClientError | TimeoutError):
        return RETRY_DELIVERY
    if not isinstance(error, SlackApiError) or not slack_busy(error):
        return None
    wait = retry_after(error.response.headers.get("Retry-After"))
    return max(wait or RETRY_DELIVERY, 1.0)


async def deliver(
    svc: Services, client: AsyncWebClient, request: Request
) -> tuple[list[str], bool]:
    """Queue the billing channel's root once, DM the approvers and the requester who
    have no message about it yet; who could not be told. Run again after a crash, it
    sends only what is missing, and finds a DM whose answer was lost. A DM Slack refused
    only for now is sent again later (then the second value is True): the request is not
    marked delivered until every DM has had an answer that asking again cannot change."""
    title = title_of(svc, request.provider)
    billing = svc.teams.billing_channel(request.team_id)
    if request.billing_ts is None and request.billing_channel is None and billing is not None:
        # Through the outbox, whose mark on the post lets a restart find it in the
        # channel: posted here, a stop before its ts was kept had the request posted a
        # second time, and the first copy's thread told nothing. The DMs are posted
        # here, each ts kept as soon as it comes (one whose answer was lost is found).
        # Queued before any DM, so any decision finds it and its line waits for it: a
        # stop between the DMs and this left a decision's line in the channel itself.
        svc.approvals.post_to_billing(
            request.id,
            billing,
            lambda: svc.store.enqueue(
                "chat.postMessage",
                {"channel": billing, **blocks.billing_root(request, title)},
                key=_root_key(request.id),
                team_id=request.team_id,
            ),
        )
        svc.approvals.changed()
    told = {viewer for viewer, _, _ in svc.approvals.messages(request.id)}
    missed = []
    again: float | None = None
    for viewer in (*request.approvers, request.requester):
        if viewer in told:
            continue
        message = blocks.request_message(request, title, viewer)
        try:
            found = await _find_dm(svc, client, request.id, viewer)
            channel, ts = found or await _post_dm(svc, client, request.id, viewer, message)
        except (SlackApiError, NoChannel, aiohttp.ClientError, TimeoutError) as error:
            wait = _for_now(error)
            later = "; trying again later" if wait is not None else ""
            log.warning("could not DM %s about approval %s%s: %r", viewer, request.id, later, error)
            missed.append(viewer)
            if wait is not None:
                again = max(again or 0.0, wait)
            continue
        svc.approvals.remember_message(request.id, viewer, channel, ts)
        if found is not None:
            # Posted as the request stood then: a decision made since rewrote only the
            # DMs known at the time, so this one is shown as the request stands now.
            version = f"{request.state.value}:{len(request.approved_by)}"
            shown = blocks.request_message(request, title, viewer, _decided(request, viewer))
            svc.store.enqueue(
                "chat.update",
                {"channel": channel, "ts": ts, **shown},
                key=f"approval:{request.id}:{viewer}:{version}",
                team_id=request.team_id,
            )
            svc.approvals.changed()
    if again is None:
        svc.approvals.delivered(request.id)
    else:
        svc.approvals.retry_delivery(request.id, again)
    current = svc.approvals.get(request.id)
    decided = current is not None and (current.state, current.approved_by) != (
        request.state, request.approved_by,
    )  # fmt: skip
    if current is not None and decided:  # someone decided while the DMs went out
        announce(svc, current, None, None)
    return missed, again is not None


async def approvers_for(
    svc: Services, team_id: str, approvers: tuple[str, ...], requester: str
) -> tuple[str, ...]:
    """People who may decide: the named ones and the groups' members, never the requester.
    `GroupUnread` while Slack will not list a group just now: a request kept for fewer
    people would never reach that group's members."""
    people: list[str] = []
    for who in approvers:
        group = who.startswith("S")
        found = await svc.access.group_members(team_id, who, strict=True) if group else {who}
        people += sorted(found)
    return tuple(p for p in dict.fromkeys(people) if p != requester)


async def on_request(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    if await refuse_unless_payer(svc, body, respond):
        return
    try:
        target = values.PayTarget.decode(body["actions"][0].get("value", ""))
        if target.amount is None:
            raise values.BadValue("no amount")
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    team_id = body["team"]["id"]
    bracket = svc.approvals.policy(team_id).needs(target.provider, target.amount)
    rule = blocks.rule_line(bracket) if bracket else "This payment needs no approval now."
    offer = svc.checkout.recent_options(team_id, target.provider, list(target.invoice_ids))
    numbers = [i.number for i in offer.invoices] if offer else list(target.invoice_ids)
    shown = ", ".join(inline(number, NUMBER_CHARS) for number in numbers)
    what = (
        f"Pay {escape(title_of(svc, target.provider))} invoice {shown}: *{target.amount.format()}*"
    )
    view = blocks.request_modal(target, what, rule, body.get("response_url"))
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def _open_request(
    svc: Services,
    client: AsyncWebClient,
    body: Body,
    target: values.PayTarget,
    note: str,
) -> tuple[str, Request | None]:
    """Check everything again and store the request; (what to tell the requester, request)."""
    assert target.amount is not None
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    title = title_of(svc, target.provider)
    ids = list(target.invoice_ids)
    options = await read(svc.checkout.options(team_id, target.provider, ids, reuse=True), title)
    binding = Binding.of(target.provider, target.invoice_ids, options.total)
    waiting = svc.approvals.latest(team_id, binding)
    if waiting is not None and waiting.state is State.PENDING and waiting.binding != binding:
        # The offer kept here may be older than that request (another process asked
        # it): only the provider's amount now may replace it (`replace_outdated`).
        options = await read(svc.checkout.options(team_id, target.provider, ids), title)
        binding = Binding.of(target.provider, target.invoice_ids, options.total)
    if options.total != target.amount:
        return (
            f"The amount changed from {target.amount.format()} to {options.total.format()}. "
            "Nothing was requested; open the invoice again."
        ), None
    bracket = svc.approvals.policy(team_id).needs(target.provider, options.total)
    if bracket is None or svc.approvals.approved(team_id, binding):
        return "This payment needs no further approval: pay it from the list.", None
    approvers = await approvers_for(svc, team_id, bracket.approvers, user_id)
    if len(approvers) < bracket.needed:
        return (
            f"{blocks.rule_line(bracket)} Not enough people other than you can approve it, "
            "so nothing was requested. Ask an admin to change the approval settings."
        ), None
    dues = sorted(str(i.due) for i in options.invoices if i.due)
    # Its approvers no longer see buttons for the old amount.
    svc.approvals.replace_outdated(
        team_id, binding, then=lambda replaced: announce(svc, replaced, Outcome.EXPIRED, None)
    )
    request = svc.approvals.open(
        team_id=team_id,
        binding=binding,
        invoice_numbers=tuple(i.number for i in options.invoices if not i.is_credit),
        requester=user_id,
        note=note,
        due=dues[0] if dues else None,
        needed=bracket.needed,
        approvers=approvers,
        rule=bracket.rule(),
        netted=options_sum(options),
        credits=tuple(credit.number for credit in options.credits_settled),
    )
    if request is None:
        return "A request to approve these invoices is already waiting; nothing new was sent.", None
    missed, retrying = await deliver(svc, client, request)
    sent = [f"<@{a}>" for a in approvers if a not in missed]
    told = f"Sent to {', '.join(sent)}." if sent else "No approver could be sent a message."
    if retrying:
        told += " Slack is busy: invoicebot keeps trying to send it to the others."
    follow = "Your messages with invoicebot show the request and change as they decide."
    return f"{told} {follow}", request


async def on_request_submit(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    view = body["view"]
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    try:
        metadata = values.metadata(view)
        target = values.PayTarget.decode(str(metadata["target"]))
        if target.amount is None:
            raise values.BadValue("no amount")
    except (ValueError, KeyError, values.BadValue):
        await ack(response_action="update", view=result_view("Not sent", TAMPERED))
        return
    if not await svc.access.may_pay(team_id, user_id):
        await ack(response_action="update", view=result_view("Not sent", blocks.REQUEST_REFUSAL))
        return
    note = (submitted_values(view).get("note") or "").strip()[: blocks.NOTE_LIMIT]
    await ack(response_action="update", view=result_view("Sending…", "Asking the approvers…"))
    try:
        said, request = await _open_request(svc, client, body, target, note)
    except (ProviderError, GroupUnread) as error:
        said, request = escape(say(error)), None
    title = "Approval requested" if request else "Approval not requested"
    shown = result_view("Sent" if request else "Not sent", said)
    await dialogs.update(
        client,
        view["id"],
        shown,
        tell=dialogs.Told(svc.store, team_id, user_id, f"{title}: {said}"),
    )
    if request is not None and metadata.get("url"):
        shown = notice(f":lock: Approval requested. {said}")
        svc.store.enqueue(
            RESPONSE_URL,
            {"url": metadata["url"], "body": {"replace_original": True, **shown}},
            key=f"approval-menu:{request.id}",
            team_id=team_id,
        )
        svc.approvals.changed()


async def on_approve(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    request_id = _request_id(body)
    if request_id is None:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    await decide(svc, respond, request_id, body, approve=True)


async def decide(
    svc: Services,
    respond: AsyncRespond | None,
    request_id: str,
    body: Body,
    *,
    approve: bool,
    reason: str = "",
) -> Outcome:
    """Count the clicker's decision, tell everyone concerned, and tell a click that did
    not count why, in a sentence."""
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    outcome, _ = svc.approvals.decide(
        request_id,
        team_id,
        user_id,
        approve=approve,
        reason=reason,
        then=lambda outcome, request: announce(svc, request, outcome, user_id),
    )
    if outcome in blocks.OUTCOME_WORDS and respond is not None:
        await respond(replace_original=False, **notice(blocks.OUTCOME_WORDS[outcome]))
    return outcome


async def on_reject(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    """Reject asks for a reason first; whether it counts is decided on submission."""
    await ack()
    request_id = _request_id(body)
    request = svc.approvals.get(request_id) if request_id else None
    if request is None:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    cannot = judge(request, body["team"]["id"], body["user"]["id"], time.time())
    if cannot is not None:
        await respond(replace_original=False, **notice(blocks.OUTCOME_WORDS[cannot]))
        return
    title = title_of(svc, request.provider)
    await client.views_open(trigger_id=body["trigger_id"], view=blocks.reject_modal(request, title))


async def on_reject_submit(
    svc: Services, ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    view = body["view"]
    reason = (submitted_values(view).get("reason") or "").strip()
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why, for the requester."})
        return
    request_id = str(values.metadata(view).get("request", ""))
    if not blocks.REQUEST_ID.fullmatch(request_id):
        await ack(response_action="update", view=result_view("Not rejected", TAMPERED))
        return
    outcome = await decide(svc, None, request_id, body, approve=False, reason=reason)
    if outcome in blocks.OUTCOME_WORDS:
        words = blocks.OUTCOME_WORDS[outcome]
        await ack(response_action="update", view=result_view("Not rejected", words))
        return
    await ack()


def _speaking_for(client: AsyncWebClient, token: str) -> AsyncWebClient:
    """`client` with a workspace's own bot token in place of its own."""
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
    )


async def watch_forever(
    svc: Services, client: AsyncWebClient, tokens: BotTokens, tick: float = WATCH_TICK
) -> None:
    """Mark approvals whose time ran out as expired and tell everyone concerned; send
    the DMs of a request that a stop cut short, or that Slack refused for now, each with
    its workspace's token (`tokens`: installed by OAuth, `client` has none). Each request
    is sent on its own: one that fails is logged and taken again after its lease."""
    tokenless: set[str] = set()  # said to have no token, until one of theirs comes back
    while True:
        try:
            svc.approvals.expire_due(then=lambda request: _ran_out(svc, request))
            due = svc.approvals.undelivered(time.time() - REDELIVER_AFTER, REDELIVER_AFTER)
        except Exception:
            log.exception("watching approvals failed; trying again")
            due = []
        for request in due:
            try:
                token = await tokens.token(request.team_id)
                if token is None:  # taken again once its lease ends, in case it comes back
                    if request.team_id not in tokenless:
                        tokenless.add(request.team_id)
                        log.warning(
                            "workspace %s has no bot token now: its approvals' DMs wait",
                            request.team_id,
                        )
                    continue
                tokenless.discard(request.team_id)
                await deliver(svc, _speaking_for(client, token), request)
            except Exception:
                log.exception("approval %s: sending its DMs failed; trying again", request.id)
        await asyncio.sleep(tick)


def _ran_out(svc: Services, request: Request) -> None:
    """Tell everyone concerned that `request` expired, unless it did its work: the
    messages of a paid one say paid, not "expired"."""
    invoices = list(request.invoice_ids)
    if not svc.store.settlement_of(request.team_id, request.provider, invoices):
        announce(svc, request, Outcome.EXPIRED, None, under_way=_paying(svc, request))


def _paying(svc: Services, request: Request) -> bool:
    """Whether a payment started under this approval may still take the money: a link
    got while it was good can be paid after it runs out (the paid DMs then follow)."""
    payments = svc.store.payments_for_invoices(
        request.team_id, request.provider, list(request.invoice_ids)
    )
    return any(
        payment.state in LIVE
        and (under := svc.approvals.behind(payment)) is not None
        and under.id == request.id
        for payment in payments
    )


def register(app: AsyncApp, svc: Services) -> None:
    def bind(handler: Any, *, message_only: bool = False) -> Any:
        async def listener(
            ack: AsyncAck, body: Body, respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await handler(svc, ack, body, respond, client)

        return shielded(listener, message_only=message_only)

    for action, handler in (
        (blocks.REQUEST_APPROVAL, on_request),
        (blocks.APPROVE, on_approve),
        (blocks.REJECT, on_reject),
        (blocks.OPEN_SETTINGS, on_open_settings),  # in App Home: answered in messages
    ):
        app.action(action)(bind(handler, message_only=True))
    for action, handler in ((dialog.ADD, on_add_bracket), (dialog.REMOVE, on_remove_bracket)):
        app.action(action)(bind(handler))
    for callback, submitted in (
        (blocks.REQUEST_VIEW, on_request_submit),
        (blocks.REJECT_VIEW, on_reject_submit),
        (dialog.SETTINGS_VIEW, on_settings_submit),
    ):
        app.view(callback)(bind(submitted))
