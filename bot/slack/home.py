"""App Home: what the team owes and is owed, what needs paying now, and what was settled.

Published at once from what the bot itself knows (settlements), then again when the
providers have answered, so a slow provider never leaves the tab blank; one that does
not answer within `HOME_WAIT` seconds is named, and its invoices are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import GROUPS_UNREAD, WHO_MAY_PAY
from bot.checkout import charges_in_doubt
from bot.clock import in_zone
from bot.invoices import Listing, Page, Side, SortKey, Window, bridged_since, gather_pages
from bot.models import (
    Emailed,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    Payment,
    PaymentState,
)
from bot.provider import Direction, Provider
from bot.records import charged_after, twice_note
from bot.selection import Totals
from bot.slack import values
from bot.slack.approvals_gate import label_pay_buttons
from bot.slack.blocks.approvals import home_section
from bot.slack.blocks.kit import (
    NUMBER_CHARS,
    Block,
    Ids,
    actions,
    button,
    context,
    day,
    divider,
    escape,
    fields,
    header,
    inline,
    section,
)
from bot.slack.blocks.listing import (
    answered_note,
    failure_line,
    invoice_blocks,
    not_read,
    nothing_known,
    read_in_full,
    unreadable_line,
)
from bot.slack.errors import shielded
from bot.slack.listing import settled_here, settled_on
from bot.slack.services import Services
from bot.text import plain

log = logging.getLogger(__name__)

HOME_LIST = 8  # invoices shown under each of "Overdue" and "Due this week"
HOME_SETTLEMENTS = 10
HOME_IN_PROGRESS = 5
HOME_WAIT = 8.0  # seconds the providers get before the tab is published without them
HOME_BLOCKS = 100  # Slack's limit for a Home tab
WEEK = timedelta(days=7)
IN_PROGRESS = frozenset({PaymentState.LINK_ISSUED, PaymentState.OPENED, PaymentState.UNKNOWN})


def due_from(today: date) -> SortKey:
    """A boundary just before the first open invoice due `today` (see
    `bot.selection.sort_key`): after every overdue one, and after the open credit notes
    dated before today, which are never overdue and never due, and would otherwise fill
    "Due this week"'s window ahead of the bills due."""
    return (1, today.toordinal(), "", "", "")


@dataclass(frozen=True)
class Found:
    """The providers' answers: the first invoices in people order (overdue first), and
    the first ones not overdue (soonest due first)."""

    listings: list[Listing]
    first: Page
    coming: Page
    reopened: Mapping[tuple[str, str], date] = field(default_factory=dict)
    """By (provider, invoice id): the day an invoice listed open again was paid here
    (see `bot.slack.listing.settled_on`)."""


@dataclass(frozen=True)
class Ledger:
    """What the store knows for one person: the team's settlements and their open attempts."""

    settled: list[tuple[datetime, Payment]]
    in_progress: list[Payment]
    twice: list[tuple[datetime, Payment, str]] = field(default_factory=list)
    """Second payments of invoices already settled, with what #billing said to do."""
    charged: dict[str, str] = field(default_factory=dict)
    """By payment id, settlements credited on the invoice's word whose own page then took
    money, with what #billing said (`bot.records.charged_after`)."""


def ledger_of(svc: Services, team_id: str, user_id: str) -> Ledger:
    recent = svc.store.recent_payments(team_id, user_id, HOME_SETTLEMENTS)
    twice = svc.store.recent_paid_twice(team_id, HOME_SETTLEMENTS)
    settled = svc.store.recent_settlements(team_id, HOME_SETTLEMENTS)
    return Ledger(
        settled=settled,
        in_progress=[p for p in recent if p.state in IN_PROGRESS][:HOME_IN_PROGRESS],
        twice=[(at, p, twice_note(svc.store, p)) for at, p in twice],
        charged=charged_after(svc.store, team_id, [p for _, p in settled]),
    )


def _totals(ids: Ids, found: Found | None) -> list[Block]:
    if found is None:
        return [fields(ids, [("To pay", "…"), ("To collect", "…")])]
    page = found.first

    def said(totals: Totals, side: Direction) -> str:
        """Only of the providers of `side` read in full: one that failed is not counted."""
        of_side = [one for one in found.listings if one.provider.capabilities.direction is side]
        known = read_in_full(of_side)
        if not totals.count and not totals.credits:
            # open credit notes alone still say what they are worth
            return nothing_known("nothing open", *known) or "nothing open"
        late = f"\n:red_circle: {totals.overdue_words()}" if totals.overdue else ""
        missing = not_read(*known[1:])
        return f"{totals.format()}{late}" + (f"\nnot counted: {missing}" if missing else "")

    return [
        fields(
            ids,
            [
                ("To pay", said(page.to_pay, Direction.PAYABLE)),
                ("To collect", said(page.to_collect, Direction.RECEIVABLE)),
            ],
        )
    ]


def _invoices(
    ids: Ids,
    invoices: list[Invoice],
    providers: dict[str, Provider],
    today: date,
    may_pay: bool,
    reopened: Mapping[tuple[str, str], date],
    in_doubt: Mapping[tuple[str, str], str],
) -> list[Block]:
    blocks: list[Block] = []
    for invoice in invoices:
        provider = providers[invoice.provider]
        paid = reopened.get((invoice.provider, invoice.id))
        doubt = in_doubt.get((invoice.provider, invoice.id))
        blocks += invoice_blocks(ids, invoice, provider, today, may_pay, paid, doubt=doubt)
    return blocks


def _due(
    ids: Ids,
    found: Found,
    today: date,
    may_pay: bool | None,
    in_doubt: Mapping[tuple[str, str], str],
) -> list[Block]:
    """Overdue (oldest first) and due today or in the next 7 days (soonest first): the
    digest's "due in the next 7 days", so both name the same bills."""
    providers = {listing.provider.name: listing.provider for listing in found.listings}
    first, coming = found.first, found.coming
    overdue = [i for i in first.invoices if i.is_overdue(today)]
    week = [
        i
        for i in coming.invoices
        if not i.is_overdue(today) and i.due is not None and today <= i.due <= today + WEEK
    ]
    known = read_in_full(found.listings)
    blocks: list[Block] = [header(ids, "Overdue")]
    blocks += _invoices(
        ids, overdue, providers, today, may_pay is True, found.reopened, in_doubt
    ) or [section(ids, nothing_known("Nothing overdue", *known) or "Nothing is overdue. :tada:")]
    more = max(first.to_pay.overdue + first.to_collect.overdue, len(overdue)) - len(overdue)
    if more > 0:
        blocks.append(context(ids, f"and {more} more overdue: type `/invoices overdue`"))
    blocks.append(header(ids, "Due this week"))
    nothing = "Nothing falls due in the next 7 days"
    blocks += _invoices(ids, week, providers, today, may_pay is True, found.reopened, in_doubt) or [
        section(ids, nothing_known(nothing, *known) or f"{nothing}.")
    ]
    if coming.after and len(week) == len(coming.invoices):
        blocks.append(context(ids, "More fall due this week: type `/invoices`"))
    if may_pay and (overdue or week):
        if answered := answered_note(blocks):
            blocks.append(context(ids, answered))
    elif overdue or week:
        blocks.append(context(ids, WHO_MAY_PAY if may_pay is False else GROUPS_UNREAD))
    return blocks


def _settlement_line(
    settled_at: datetime, payment: Payment, titles: dict[str, str], zone: tzinfo
) -> str:
    """Dated in the workspace's zone, as the export's `date` column dates it."""
    numbers = ", ".join(inline(number, NUMBER_CHARS) for number in payment.invoice_numbers)
    title = escape(titles.get(payment.provider, payment.provider))
    return (
        f"{day(in_zone(settled_at, zone).date())} · *{numbers}* · {payment.amount.format()} · "
        f"{title}"
    )


def _settlements(
    ids: Ids, ledger: Ledger, user_id: str, titles: dict[str, str], zone: tzinfo
) -> list[Block]:
    """The person's own payments apart from their team's and from customers' payments;
    a second payment of invoices already settled among them, with what to do about it."""
    mine, team, customers = [], [], []
    moved = [(at, payment, "") for at, payment in ledger.settled] + ledger.twice
    moved.sort(key=lambda one: one[0], reverse=True)
    for settled_at, payment, twice in moved[:HOME_SETTLEMENTS]:
        line = _settlement_line(settled_at, payment, titles, zone)
        # As the invoice's history tells it, in #billing's words.
        again = f" · :warning: paid again after it was settled: {twice}" if twice else ""
        if not twice and (charged := ledger.charged.get(payment.id)):
            again = f" · :warning: {charged}"  # its own charge came after it was credited
        if payment.direction == Direction.RECEIVABLE.value:
            sent = "invoice e-mailed" if isinstance(payment.start, Emailed) else "link copied"
            customers.append(
                f"{line} · paid by the customer ({sent} by <@{payment.user_id}>){again}"
            )
        elif payment.user_id == user_id:
            mine.append(f"{line} · paid by you{again}")
        else:
            team.append(f"{line} · paid by <@{payment.user_id}>{again}")
    blocks: list[Block] = [header(ids, "Recent settlements")]
    for label, lines in (
        ("Your payments", mine),
        ("Your team's payments", team),
        ("Customers' payments", customers),
    ):
        if lines:
            blocks.append(section(ids, f"*{label}*\n" + "\n".join(lines)))
    if not moved:
        blocks.append(section(ids, "Nothing has been settled through invoicebot yet."))
    if ledger.in_progress:
        lines = [
            f"*{', '.join(inline(n, NUMBER_CHARS) for n in p.invoice_numbers)}* · "
            f"{p.amount.format()} · {inline(p.method_name, NUMBER_CHARS)} · {p.standing}"
            for p in ledger.in_progress
        ]
        blocks.append(section(ids, "*Waiting for payment* (started by you)\n" + "\n".join(lines)))
    return blocks


def home_blocks(
    *,
    providers: list[Provider],
    found: Found | None,
    ledger: Ledger,
    user_id: str,
    may_pay: bool | None,
    today: date,
    approvals: list[Block] | None = None,
    zone: tzinfo = UTC,
    in_doubt: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """The Home tab; `found` None: the providers are still being asked; `may_pay` None:
    not known just now (`bot.access.Access.may_pay_shown`); `zone`: the
    workspace's, which settlements are dated in; `in_doubt`: as for the list
    (`bot.checkout.charges_in_doubt`)."""
    ids = Ids()
    titles = {p.name: p.title for p in providers}
    blocks: list[Block] = [header(ids, "Invoices"), *_totals(ids, found)]
    if not providers:
        blocks.append(
            section(
                ids,
                "No provider is connected yet. An admin can run `/invoices connect <provider>`.",
            )
        )
    elif found is None:
        names = ", ".join(escape(p.title) for p in providers)
        blocks.append(context(ids, f":hourglass_flowing_sand: Asking {names}…"))
    else:
        blocks += [
            section(ids, f":warning: {failure_line(listing.provider.title, plain(listing.error))}")
            for listing in found.listings
            if listing.error
        ]
        blocks += [section(ids, unreadable_line(one)) for one in found.listings if one.unreadable]
        blocks += _due(ids, found, today, may_pay, in_doubt or {})
    settlements = [
        divider(ids),
        *(approvals or []),
        *_settlements(ids, ledger, user_id, titles, zone),
    ]
    if may_pay:
        settlements.append(
            actions(ids, [button("Export records (CSV)", values.EXPORT)], name="records")
        )
    footer = context(ids, "Everything else: `/invoices` in any channel.")
    room = HOME_BLOCKS - len(settlements) - 1
    if len(blocks) > room:  # never expected with the limits above; cut whole invoices
        blocks = [*blocks[: room - 1], context(ids, "More: type `/invoices`")]
    return {"type": "home", "blocks": [*blocks, *settlements, footer]}


async def home_view(
    svc: Services,
    team_id: str,
    user_id: str,
    *,
    wait: float = HOME_WAIT,
    approvals: list[Block] | None = None,
) -> dict[str, Any]:
    """The finished Home tab: every provider asked, for at most `wait` seconds."""
    providers = svc.connections.connected(team_id)
    open_only = InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN}))
    today = svc.today()
    windows = [Window(HOME_LIST), Window(HOME_LIST, Side.AFTER, due_from(today))]
    listings, (first, coming) = await gather_pages(
        providers,
        open_only,
        windows,
        within=wait,
        snapshots=svc.snapshots,
        settled=settled_here(svc, team_id, providers),
        today=today,
    )
    reopen = {p.name: since for p in providers if (since := bridged_since(p)) is not None}
    shown = [*first.invoices, *coming.invoices]
    view = home_blocks(
        providers=providers,
        found=Found(listings, first, coming, settled_on(svc, team_id, shown, reopen)),
        ledger=ledger_of(svc, team_id, user_id),
        user_id=user_id,
        may_pay=await svc.access.may_pay_shown(team_id, user_id),
        today=today,
        approvals=approvals,
        zone=svc.zone(),
        in_doubt=charges_in_doubt(svc.store, team_id, [*first.invoices, *coming.invoices]),
    )
    label_pay_buttons(svc.approvals, team_id, view["blocks"], [*first.invoices, *coming.invoices])
    return view


async def approvals_of(svc: Services, team_id: str, user_id: str) -> list[Block]:
    """The approvals part of the tab, from the store alone (no provider is asked)."""
    requests = svc.approvals.waiting_for(team_id, user_id)
    titles = {name: cls.title for name, cls in svc.connections.registry.items()}
    return home_section(
        svc.approvals.policy(team_id),
        requests,
        user_id,
        admin=await svc.access.may_administer(team_id, user_id, strict=False),
        titles=titles,
    )


def register(app: AsyncApp, svc: Services) -> None:

    async def opened(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
        user_id = event["user"]
        approvals = await approvals_of(svc, team_id, user_id)
        first = home_blocks(
            providers=svc.connections.connected(team_id),
            found=None,
            ledger=ledger_of(svc, team_id, user_id),
            user_id=user_id,
            may_pay=False,
            today=svc.today(),
            approvals=approvals,
            zone=svc.zone(),
        )
        await client.views_publish(user_id=user_id, view=first)
        finished = await home_view(svc, team_id, user_id, approvals=approvals)
        await client.views_publish(user_id=user_id, view=finished)

    app.event("app_home_opened")(shielded(opened))
