"""App Home: the user's open invoices and their recent payments, fresh on every visit."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.invoices import Window, gather_invoices
from bot.models import InvoiceQuery, InvoiceStatus, today_utc
from bot.slack.blocks.kit import Block, Ids, context, divider, escape, header, section
from bot.slack.blocks.listing import invoice_line
from bot.slack.errors import shielded
from bot.slack.services import Services

log = logging.getLogger(__name__)

HOME_INVOICES = 20
HOME_PAYMENTS = 10


async def home_view(svc: Services, team_id: str, user_id: str) -> dict[str, Any]:
    ids = Ids()
    providers = svc.connections.connected(team_id)
    open_only = InvoiceQuery(statuses=frozenset({InvoiceStatus.OPEN}))
    gathered = await gather_invoices(providers, open_only, Window(HOME_INVOICES), within=10)
    page = gathered.page
    titles = {p.name: p.title for p in providers}
    today = today_utc()
    blocks: list[Block] = [header(ids, "Open invoices")]
    blocks += [
        section(ids, f":warning: *{escape(x.provider.title)}*: {escape(x.error)}")
        for x in gathered.listings
        if x.error
    ]
    if not providers:
        blocks.append(section(ids, "No provider is connected yet."))
    blocks += [section(ids, invoice_line(i, titles[i.provider], today)) for i in page.invoices]
    if page.after:
        blocks.append(context(ids, f"and {page.after} more: type `/invoices`"))
    elif providers and not page.total:
        blocks.append(section(ids, "Nothing is open. :tada:"))
    blocks += [divider(ids), header(ids, "Your recent payments")]
    payments = svc.store.recent_payments(team_id, user_id, HOME_PAYMENTS)
    blocks += [
        section(
            ids,
            f"*{escape(', '.join(p.invoice_numbers))}* · {p.amount.format()} · "
            f"{escape(p.method_name)} · {p.state.value.replace('_', ' ')}",
        )
        for p in payments
    ] or [section(ids, "You have not paid anything with invoicebot yet.")]
    blocks.append(context(ids, "Pay from any channel with `/invoices`."))
    return {"type": "home", "blocks": blocks[:100]}


def register(app: AsyncApp, svc: Services) -> None:
    async def opened(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
        view = await home_view(svc, team_id, event["user"])
        await client.views_publish(user_id=event["user"], view=view)

    app.event("app_home_opened")(shielded(opened))
