"""Showing invoices: from a parsed request to a Slack message (shared by command and buttons)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from bot.checkout import charges_in_doubt
from bot.clock import in_zone
from bot.invoices import Side, SortKey, Window, bridged_since, gather_invoices
from bot.models import Invoice, InvoiceQuery, InvoiceStatus, Money
from bot.provider import Provider, ProviderError
from bot.slack.approvals_gate import label_pay_buttons
from bot.slack.blocks.kit import escape
from bot.slack.blocks.listing import PAGE_SIZE, invoice_list, notice
from bot.slack.progress import READ_BUDGET
from bot.slack.services import Services
from bot.slack.subcommands import ListInvoices


def providers_for(svc: Services, team_id: str, request: ListInvoices) -> list[Any]:
    """The connected providers a listing asks: those named, else all, except that drafts
    alone are asked only of providers that keep drafts (the rest would be named as
    having answered with none), when any connected one does; when none does, all are
    returned and `listing_message` says none keeps drafts."""
    connected = svc.connections.connected(team_id)
    if request.providers:
        return [p for p in connected if p.name in request.providers]
    if request.statuses == {InvoiceStatus.DRAFT}:
        return [p for p in connected if p.capabilities.keeps_drafts] or connected
    return connected


def _no_drafts_kept(providers: list[Any], *, named: bool) -> str:
    """Said instead of listing drafts where every provider asked keeps none: a list of
    none "from i3D.net" would read as if it had been asked and had none today."""
    if not named:
        return "No connected provider keeps draft invoices."
    titles = " and ".join(f"*{escape(provider.title)}*" for provider in providers)
    return f"{titles} {'keeps' if len(providers) == 1 else 'keep'} no draft invoices."


def settled_here(
    svc: Services, team_id: str, providers: list[Provider]
) -> dict[str, dict[str, Money | None]]:
    """By provider, the invoices a payment through the bot settled, and what it paid for
    each: listed as paid even where the provider still lists them open, when that covers
    what they ask (see `bot.invoices.paid_here`), for a while after (`bridged_since`)."""
    return {
        p.name: svc.store.settled_amounts(team_id, p.name, since=bridged_since(p))
        for p in providers
    }


def settled_on(
    svc: Services,
    team_id: str,
    invoices: list[Invoice],
    reopen: Mapping[str, datetime] | None = None,
) -> dict[tuple[str, str], date]:
    """The day each paid invoice was paid, in the workspace's zone (as the export and
    App Home date it): the provider's paid time, or, for providers that give none, the
    time the bot saw it settled. An open one of a provider in `reopen` (those whose
    invoices show their page's money, each with its `bot.invoices.bridged_since`) is here
    when it was settled through the bot before then, so the provider lists it open again;
    one settled since may not be booked yet (`open_again`, Pay's answer, says the same)."""
    zone = svc.zone()
    reopen = reopen or {}
    undated: dict[str, list[str]] = {}
    reopened: dict[str, list[str]] = {}
    found: dict[tuple[str, str], date] = {}
    for invoice in invoices:
        if invoice.status is InvoiceStatus.OPEN and invoice.provider in reopen:
            reopened.setdefault(invoice.provider, []).append(invoice.id)
            continue
        if invoice.status is not InvoiceStatus.PAID:
            continue
        if invoice.paid_at is not None:
            found[(invoice.provider, invoice.id)] = _local_day(invoice.paid_at, zone)
        else:
            undated.setdefault(invoice.provider, []).append(invoice.id)
    for provider, ids in undated.items():
        for invoice_id, when in svc.store.settled_dates(team_id, provider, ids).items():
            try:
                found[(provider, invoice_id)] = _local_day(datetime.fromisoformat(when), zone)
            except ValueError:
                continue
    for provider, ids in reopened.items():
        for invoice_id, stored in svc.store.settled_dates(team_id, provider, ids).items():
            if (paid := _settled_at(stored)) is not None and paid < reopen[provider]:
                found[(provider, invoice_id)] = _local_day(paid, zone)
    return found


def _settled_at(stored: str) -> datetime | None:
    """A settlement's stored time, in UTC where it names no zone; None if unreadable."""
    try:
        when = datetime.fromisoformat(stored)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def open_again(
    svc: Services,
    team_id: str,
    provider: Provider,
    invoice_ids: Collection[str],
    known: Collection[Invoice] = (),
) -> dict[str, date]:
    """Of these invoices, those settled through the bot that the provider lists open
    again now, by id, with the day each was paid here. Only one settled before
    `bridged_since` is asked about (`known`: invoices just read, asked no more), so a
    stale Pay on one paid moments ago is answered without asking. One the provider
    cannot tell about now is left out: the settlement is then all there is to say."""
    since = bridged_since(provider)
    if since is None:
        return {}
    settled = svc.store.settled_dates(team_id, provider.name, list(invoice_ids))
    read = {invoice.id: invoice for invoice in known}
    found: dict[str, date] = {}
    for invoice_id, stored in settled.items():
        if (when := _settled_at(stored)) is None:
            continue
        if when >= since:
            continue  # the provider may not have booked it yet
        try:
            invoice = read.get(invoice_id) or await provider.get_invoice(invoice_id)
        except ProviderError:
            continue
        if invoice.status is InvoiceStatus.OPEN:
            found[invoice_id] = _local_day(when, svc.zone())
    return found


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return in_zone(moment, zone).date()


async def listing_message(
    svc: Services,
    team_id: str,
    request: ListInvoices,
    *,
    text: str,
    side: Side = Side.AFTER,
    key: SortKey | None = None,
    can_pay: bool | None,
) -> dict[str, Any]:
    """The page right after `key` (no key: the first page) or right before it.

    The message names no user, so the same request from the same team at the same time
    is fetched and built once for all who asked (payers and others apart: only payers
    get Pay and payment-link controls).
    """
    providers = providers_for(svc, team_id, request)
    drafts_only = request.statuses == {InvoiceStatus.DRAFT}
    if drafts_only and providers and not any(p.capabilities.keeps_drafts for p in providers):
        return notice(_no_drafts_kept(providers, named=bool(request.providers)))
    query = InvoiceQuery(statuses=request.statuses, text=request.text)
    window = Window(PAGE_SIZE, side, key)

    reopen = {p.name: since for p in providers if (since := bridged_since(p)) is not None}

    async def build() -> dict[str, Any]:
        today = svc.today()
        gathered = await gather_invoices(
            providers,
            query,
            window,
            overdue_only=request.overdue_only,
            within=READ_BUDGET,
            snapshots=svc.snapshots,
            settled=settled_here(svc, team_id, providers),
            today=today,
        )
        message = invoice_list(
            request.title,
            gathered,
            request_text=text,
            searched=request.text,
            listed=request,
            today=today,
            can_pay=can_pay,
            settled_on=settled_on(svc, team_id, gathered.page.invoices, reopen),
            in_doubt=charges_in_doubt(svc.store, team_id, gathered.page.invoices),
        )
        label_pay_buttons(svc.approvals, team_id, message["blocks"], gathered.page.invoices)
        return message

    names = tuple(provider.name for provider in providers)
    asked = (team_id, names, query, window, request.overdue_only, request.title, text, can_pay)
    return await svc.listings.run(asked, build)
