"""`/invoices export` and `/invoices history`, and App Home's **Export records** button.

The export goes to the person's messages with the app as two CSV files, through Slack's
current upload (`files.getUploadURLExternal`, the upload, `files.completeUploadExternal`,
which slack_sdk's `files_upload_v2` makes; Slack retired `files.upload`). Records are for
payers and admins only: they name who paid what. An approver may also read the history
of an invoice they were asked to approve paying, to see what they decide on.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import refusal
from bot.history import printing, story
from bot.models import Money
from bot.provider import Provider
from bot.records import Range, export, people
from bot.slack import dialogs, values
from bot.slack.blocks.kit import (
    Block,
    Ids,
    clip,
    context,
    day,
    escape,
    header,
    moment,
    plain,
    section,
)
from bot.slack.blocks.listing import notice
from bot.slack.connect import result_view
from bot.slack.errors import shielded
from bot.slack.finding import Lookup, find, printed_as, several_said
from bot.slack.services import Services
from bot.slack.subcommands import DATE_HELP, EXPORT_DAYS, Export
from bot.text import joined, one_line

log = logging.getLogger(__name__)

RECORDS_REFUSAL = refusal("export or read invoicebot's records")
HISTORY_REFUSAL = (
    "You are not allowed to read this invoice's history, so nothing was done. Payers can "
    "read any invoice's history, and approvers that of an invoice they were asked to "
    "approve; ask an admin."
)
STORY_LINES = 60
SECTION_TEXT = 2900
"""A section's text, under Slack's 3,000 characters."""
MESSAGE_BLOCKS = 50
"""Slack's most blocks in a message."""


def _today(svc: Services) -> date:
    return svc.clock.now().astimezone(svc.settings.timetable.zone).date()


def default_range(today: date) -> Range:
    """This month so far (a bookkeeper's usual question)."""
    return Range(today.replace(day=1), today)


NOT_PERMITTED = frozenset({"missing_scope", "not_allowed_token_type", "method_deprecated"})
"""Upload refusals that waiting will not mend: the app lacks `files:write`."""
NOT_SENT = "Slack did not take the files just now, so nothing was sent. Try again in a minute."
NAMES_LOOKED_UP = 200
"""Beyond this many people in one export, the rest are written as their Slack ids."""


async def _names(client: AsyncWebClient, ids: set[str]) -> dict[str, str]:
    """`Pat Payer (U123)` for each id Slack can name (users.info); a bookkeeper reads
    names, and the id keeps it unambiguous."""
    names: dict[str, str] = {}
    for user_id in sorted(ids)[:NAMES_LOOKED_UP]:
        try:
            user = (await client.users_info(user=user_id)).get("user") or {}
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            continue
        name = user.get("real_name") or (user.get("profile") or {}).get("real_name")
        if name:
            names[user_id] = f"{name} ({user_id})"
    return names


async def send_export(
    svc: Services, client: AsyncWebClient, team_id: str, user_id: str, period: Range
) -> str:
    """Upload the CSVs to the person's DM (opened first: uploads are shared to a
    conversation, not to a user); returns the sentence to show them."""
    titles = {name: cls.title for name, cls in svc.connections.registry.items()}
    zone = svc.settings.timetable.zone
    names = await _names(client, people(svc.store, team_id, period, zone))
    made = export(svc.store, team_id, period, zone, titles, names)
    comment = (
        f"invoicebot records from {period}: {_count(made.count, 'settlement')}"
        + (f" ({sums})" if (sums := _sums(made.totals)) else "")
        + (
            f", {_count(made.twice, 'second payment')} of invoices already settled (in the "
            "file and the sums; each row's note says whether to refund it or check first)"
            if made.twice
            else ""
        )
        + f" and {_count(made.audit_count, 'audit log entry', 'audit log entries')}. "
        # Reconciled against a provider's paid invoices, the others read as missing money.
        "Settlements are of invoices paid through invoicebot: one paid at a provider "
        "directly is not in them. "
        f"Dates and times are in {svc.settings.timetable.zone.key}; amounts are per currency."
    )
    stem = f"invoicebot-{period.first.isoformat()}-to-{period.last.isoformat()}"
    try:
        opened = await client.conversations_open(users=user_id)
        dm = str((opened.get("channel") or {}).get("id") or "")
        if not dm:
            log.warning("conversations.open named no DM with %s: %r", user_id, opened.data)
            return NOT_SENT
        await client.files_upload_v2(
            file_uploads=[
                {
                    "content": made.settlements_csv,
                    "filename": f"{stem}-settlements.csv",
                    "title": f"Settlements {period}",
                },
                {
                    "content": made.audit_csv,
                    "filename": f"{stem}-audit.csv",
                    "title": f"Audit log {period}",
                },
            ],
            channel=dm,
            initial_comment=comment,
        )
    except (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError) as error:
        log.warning("uploading the records to %s failed: %r", user_id, error)
        code = error.response.get("error") if isinstance(error, SlackApiError) else None
        if code in NOT_PERMITTED:
            return (
                "invoicebot may not share files in this workspace, so nothing was sent: ask "
                "whoever runs invoicebot to reinstall the app from its manifest (it asks to "
                "upload files)."
            )
        return NOT_SENT
    svc.store.audit(
        "records.exported",
        team_id=team_id,
        user_id=user_id,
        subject=str(period),
        settlements=made.count,
    )
    return f":page_facing_up: Sent to your messages with invoicebot: {escape(comment)}"


async def on_export(
    svc: Services,
    respond: AsyncRespond,
    client: AsyncWebClient,
    team_id: str,
    user_id: str,
    request: Export,
) -> None:
    if not await svc.access.may_pay(team_id, user_id):
        svc.store.audit("refused.records", team_id=team_id, user_id=user_id)
        await respond(**notice(RECORDS_REFUSAL))
        return
    today = _today(svc)
    period = (
        Range(request.first, request.last)
        if request.first and request.last
        else default_range(today)
    )
    await respond(**notice(await send_export(svc, client, team_id, user_id, period)))


UNTOUCHED = "nobody has asked to pay it, paid it or reminded anyone of it through invoicebot"


def story_message(
    number: str,
    lines: list[str],
    absent: str | None = None,
    note: str | None = None,
    *,
    credit_note: bool = False,
) -> dict[str, Any]:
    """`number` as typed or printed (unescaped); `absent`: what to say when there are no
    `lines` (whether the invoice exists); `note`: how the number typed led to this one."""
    ids = Ids()
    kind = "credit note" if credit_note else "invoice"
    # The header is plain_text, where Slack parses nothing: the number as typed, unescaped.
    blocks: list[Block] = [header(ids, f"{kind.capitalize()} {number}")]
    number = escape(number)
    if note:
        blocks.append(context(ids, note))
    if not lines:
        absent = absent or f"invoicebot has no record of {kind} {number}: {UNTOUCHED}."
        blocks.append(section(ids, absent))
        # The notification says the same: "0 events" reads as an invoice that exists.
        return {"text": f"The story of {kind} {number}: {absent}", "blocks": blocks}
    room = MESSAGE_BLOCKS - len(blocks) - 1  # one for the note on the earliest left out
    chunks, shown = _latest_in_sections(lines[-STORY_LINES:], room)
    blocks += [section(ids, chunk) for chunk in chunks]
    if shown < len(lines):
        blocks.append(
            context(ids, f"The {len(lines) - shown} earliest events are in `/invoices export`.")
        )
    told = _count(len(lines), "event")
    return {"text": f"The story of {kind} {number}: {told}", "blocks": blocks}


def _latest_in_sections(lines: list[str], room: int) -> tuple[list[str], int]:
    """The latest `lines` packed into at most `room` sections' texts, in order, and how
    many lines they hold; a line too long for a section is cut with "…" on its own, so
    no section is empty (Slack refuses one, and with it the message)."""
    chunks: list[list[str]] = []
    size = 0
    for line in reversed(lines):
        line = clip(line, SECTION_TEXT, mrkdwn=True)
        if chunks and size + len(line) < SECTION_TEXT:
            chunks[-1].append(line)
            size += len(line) + 1
        elif len(chunks) < room:
            chunks.append([line])
            size = len(line)
        else:
            break
    return ["\n".join(reversed(chunk)) for chunk in reversed(chunks)], sum(map(len, chunks))


def _sums(totals: dict[tuple[str, str], Decimal]) -> str:
    """ "paid €1,548.80 + $129.00; collected $321.43": money out and money in apart."""
    sides = []
    for direction, label in (("payable", "paid"), ("receivable", "collected")):
        amounts = [
            Money.of(amount, currency).format()
            for (side, currency), amount in sorted(totals.items())
            if side == direction
        ]
        if amounts:
            sides.append(f"{label} {' + '.join(amounts)}")
    return "; ".join(sides)


def _count(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


async def on_history(
    svc: Services, respond: AsyncRespond, team_id: str, user_id: str, number: str
) -> None:
    if not (
        svc.approvals.asked(team_id, user_id, number) or await svc.access.may_pay(team_id, user_id)
    ):
        svc.store.audit("refused.records", team_id=team_id, user_id=user_id, subject=number)
        await respond(**notice(HISTORY_REFUSAL))
        return
    titles = {name: cls.title for name, cls in svc.connections.registry.items()}
    number = svc.store.printed_number(team_id, number)
    number = svc.approvals.printed_number(team_id, number)  # asked for, never paid yet
    credit = svc.store.credit_note_number(team_id, number)
    number = credit or number
    events = story(svc.store, team_id, number, titles)
    absent = note = None
    if not events:  # a number typed another way (an id, another case), or no story yet
        providers = svc.connections.connected(team_id)
        lookup = await find(svc, providers, number)
        if lookup.found is not None and lookup.found[1].number != number:
            provider, invoice = lookup.found
            if not printed_as(invoice, number):
                note = (
                    f"“{escape(number)}” is {escape(provider.title)}'s id of invoice "
                    f"{one_line(invoice.number)}."
                )
            number = invoice.number
            events = story(svc.store, team_id, number, titles)
        if lookup.found is not None:
            credit = credit or (lookup.found[1].number if lookup.found[1].is_credit else None)
        absent = None if events else _whereabouts(providers, lookup, number)
    printed_at = printing(svc.store, team_id, number)
    if len(printed_at) > 1:  # two invoices, one number: each event names its provider
        names = " and ".join(escape(titles.get(name, name)) for name in printed_at)
        shared = f"{names} each have an invoice numbered {one_line(number)}."
        note = f"{note} {shared}" if note else shared
    lines = [f"{moment(e.at)} · {e.text}" for e in events]  # each reader's own zone
    await respond(**story_message(number, lines, absent, note, credit_note=credit is not None))


def _whereabouts(providers: list[Provider], lookup: Lookup, number: str) -> str:
    """An invoice with no story: whether a connected provider has it at all, so a
    mistyped number is not taken for an invoice nobody has touched."""
    shown = escape(number)
    if lookup.several:
        return several_said(lookup, number, "history")
    if lookup.found is not None:
        provider, invoice = lookup.found
        title = escape(provider.title)
        if invoice.is_credit:
            return (
                f"{title} has credit note {shown} (−{invoice.credit_value.format()}, "
                f"{invoice.status.value}). No payment through invoicebot has taken it off; "
                "one that does shows here."
            )
        if invoice.payable:
            due = f", due {day(invoice.due)}" if invoice.due else ""
            what = f"{invoice.status.value}, {invoice.amount_due.format()} to pay{due}"
        else:
            what = invoice.status.value
        return f"{title} has invoice {shown} ({what}), and {UNTOUCHED}."
    if not providers:
        return (
            f"invoicebot has no record of invoice {shown}, and no provider is connected "
            "to look it up."
        )
    if lookup.silent:
        down = [title for title in lookup.silent if title not in lookup.slow]
        why = []
        if down:
            why.append(
                f"Whether {escape(joined(down))} {'has' if len(down) == 1 else 'have'} it could "
                "not be checked: not answering right now."
            )
        if lookup.slow:
            why.append(
                f"Whether {escape(joined(lookup.slow))} "
                f"{'has' if len(lookup.slow) == 1 else 'have'} it could not be checked "
                "in time: the search took too long."
            )
        return f"invoicebot has no record of invoice {shown}: {UNTOUCHED}. {' '.join(why)}"
    names = ", ".join(p.title for p in providers)
    return (
        f"No invoice numbered “{shown}” at {escape(names)}, and invoicebot has no record "
        "of it: check the number."
    )


def export_modal(today: date) -> dict[str, Any]:
    """From and to, this month so far filled in."""

    def picker(block_id: str, label: str, initial: date) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "label": plain(label),
            "element": {
                "type": "datepicker",
                "action_id": "value",
                "initial_date": initial.isoformat(),
            },
        }

    return {
        "type": "modal",
        "callback_id": values.EXPORT_VIEW,
        "title": plain("Export records", 24),
        "submit": plain("Send CSV", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            picker("first", "From", today.replace(day=1)),
            picker("last", "To (included)", today),
            {
                "type": "context",
                "block_id": "about",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Settlements and the audit log, as two CSV files "
                        "in your messages with invoicebot.",
                    }
                ],
            },
        ],
    }


def _picked(view: dict[str, Any], block_id: str) -> date | None:
    state = view.get("state", {}).get("values", {}).get(block_id, {}).get("value", {})
    try:
        return date.fromisoformat(str(state.get("selected_date") or ""))
    except ValueError:
        return None


async def on_export_button(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    await ack()
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_pay(team_id, user_id):
        await client.views_open(
            trigger_id=body["trigger_id"], view=result_view("Not allowed", RECORDS_REFUSAL)
        )
        return
    await client.views_open(trigger_id=body["trigger_id"], view=export_modal(_today(svc)))


async def on_export_submit(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view = body["view"]
    first, last = _picked(view, "first"), _picked(view, "last")
    if first is None or last is None:
        await ack(response_action="errors", errors={"first": f"Pick both dates ({DATE_HELP})."})
        return
    if first > last:
        await ack(response_action="errors", errors={"last": "The end is before the start."})
        return
    if last - first > timedelta(days=EXPORT_DAYS):
        await ack(response_action="errors", errors={"first": "At most ten years at once."})
        return
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_pay(team_id, user_id):
        await ack(response_action="update", view=result_view("Not allowed", RECORDS_REFUSAL))
        return
    await ack(response_action="update", view=result_view("Exporting…", "Making the files…"))
    text = await send_export(svc, client, team_id, user_id, Range(first, last))
    await dialogs.update(
        client,
        view["id"],
        result_view("Export", text),
        tell=dialogs.Told(svc.store, team_id, user_id, text),
    )


def register(app: AsyncApp, svc: Services) -> None:
    async def button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_export_button(svc, ack, body, client)

    async def submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_export_submit(svc, ack, body, client)

    app.action(values.EXPORT)(shielded(button))
    app.view(values.EXPORT_VIEW)(shielded(submit))
