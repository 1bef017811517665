"""The `/invoices` slash command: ack at once, then answer once.

Slack cannot replace or delete a slash command's own reply (its `response_url` only
posts anew), so a "Fetching…" ack would stay above the answer for good. Commands whose
answer needs a provider ack with nothing and `respond()` exactly once; what the answer
shows later changes only through its buttons, whose clicks carry a `response_url` that
may replace the message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import ADMIN_REFUSAL, BILLING_REFUSAL, CREATE_REFUSAL, PAY_REFUSAL
from bot.models import InvoiceStatus
from bot.provider import ProviderError
from bot.slack import people
from bot.slack.approvals import post_where_billing_is_now
from bot.slack.approvals_gate import apply_gate
from bot.slack.approvals_settings import open_settings
from bot.slack.blocks.kit import NUMBER_CHARS, escape, inline
from bot.slack.blocks.listing import help_message, notice, unbuttoned, unpayable_said
from bot.slack.blocks.paying import already_paid, pay_menu, reopened_notice
from bot.slack.connect import connect_modal
from bot.slack.errors import said, shielded
from bot.slack.finding import find, several_said, unsaid, unsaid_next
from bot.slack.link_out import link_out
from bot.slack.listing import listing_message, open_again
from bot.slack.new_invoice import new_invoice_modal
from bot.slack.progress import read
from bot.slack.records import on_export, on_history
from bot.slack.services import Services
from bot.slack.subcommands import (
    Billing,
    Connect,
    Export,
    Help,
    History,
    ListInvoices,
    NewInvoice,
    PayInvoice,
    People,
    Settings,
    Status,
    Unknown,
    help_lines,
    parse,
)
from bot.slack.values import PayTarget, carries
from bot.team_settings import BILLING_CHANNEL
from bot.text import joined, unescape

log = logging.getLogger(__name__)

COMMAND = "/invoices"

# Every slash command the app answers; the manifest must declare each (a test checks).
COMMANDS: tuple[str, ...] = (COMMAND,)


async def _pay_invoice(svc: Services, team_id: str, user_id: str, number: str) -> dict[str, Any]:
    """Find the invoice at whichever connected provider has it, then show its pay menu,
    or the link already out for it, as Pay in the list does."""
    providers = svc.connections.connected(team_id)
    lookup = await find(svc, providers, number)
    silent = lookup.silent  # providers that could not say whether they have it
    if lookup.several:  # paying the wrong one of them costs money: none is guessed
        return notice(several_said(lookup, number, "pay"))
    if lookup.found:
        provider, result = lookup.found
        named = inline(result.number, NUMBER_CHARS)
        if result.is_credit:
            if result.status is InvoiceStatus.OPEN:
                use = (
                    "It is taken off when you pay the invoice it belongs to (or other "
                    f"invoices at {escape(provider.title)})."
                )
            elif result.status is InvoiceStatus.PAID:
                use = "It has been used: taken off an earlier payment."
            else:
                use = f"{escape(provider.title)} lists it as {result.status.value}."
            return notice(
                f"{named} is a credit note from {escape(provider.title)} "
                f"(−{result.credit_value.format()}), not a bill: there is nothing to pay. {use}"
            )
        ids = [result.id]
        if (paid := svc.checkout.paid_already(team_id, provider.name, ids)) is not None:
            # Who paid it and how, not the provider's "paid"; or that it lists it open again.
            if reopened := await open_again(svc, team_id, provider, ids, known=[result]):
                return reopened_notice(paid, reopened, provider.title)
            return already_paid(paid)
        if (doubt := svc.checkout.charge_in_doubt(team_id, provider.name, ids)) is not None:
            return notice(doubt)  # as Pay in the list: before a menu that could only refuse
        if not result.payable:
            return notice(unpayable_said(named, result, provider))
        if not carries(result.id):  # a menu's buttons could only refuse
            return notice(f"Invoice {named}: {unbuttoned(provider.title)}")
        target = PayTarget(provider.name, (result.id,))
        shown, options = await link_out(svc, team_id, provider, ids, user_id)
        if shown is not None:  # any start would be refused while it stands
            return shown
        if options is None:
            options = await read(svc.checkout.options(team_id, provider.name, ids), provider.title)
        # As Pay in the list: a credit note another payment holds is said before a menu,
        # and a menu is recorded when shown, not for a paid invoice.
        svc.checkout.refuse_if_credit_held(team_id, provider.name, ids, options, user_id)
        svc.store.audit(
            "payment.menu",
            team_id=team_id,
            user_id=user_id,
            subject=target.encode(),
            invoices=[invoice.number for invoice in options.invoices],
        )
        menu = pay_menu(provider, options, target, today=svc.today())
        return apply_gate(svc, team_id, target, options, menu, user_id)
    if silent:
        asked = [p.title for p in providers if p.title not in silent]
        lack = "does not" if len(asked) == 1 else "do not"
        elsewhere = f" {escape(joined(asked))} {lack} have it;" if asked else ""
        step = unsaid_next(lookup, number)
        step = step if asked else step[:1].upper() + step[1:]
        return notice(f"{unsaid(lookup, number)}{elsewhere} {step}")
    names = ", ".join(p.title for p in providers) or "no connected provider"
    return notice(f"No invoice numbered “{escape(number)}” at {escape(names)}.")


async def _status(svc: Services, team_id: str) -> dict[str, Any]:
    connected = svc.connections.connected(team_id)

    async def probe(provider: Any) -> str:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(provider.verify(), 10)
        except ProviderError as error:
            title, text = escape(provider.title), said(error)
            if text.startswith(title):  # "i3D.net had a server error": named once
                return f":warning: *{title}*{text[len(title) :]}"
            return f":warning: *{title}*: {text}"
        except TimeoutError:
            return f":warning: *{escape(provider.title)}*: did not answer within 10 s"
        elapsed = (time.perf_counter() - started) * 1000
        return (
            f":white_check_mark: *{escape(provider.title)}*: connected, "
            f"answered in {elapsed:.0f} ms"
        )

    lines = list(await asyncio.gather(*(probe(p) for p in connected)))
    names = {p.name for p in connected}
    lines += [
        f":white_circle: *{cls.title}*: not connected (`/invoices connect {cls.name}`)"
        for cls in svc.connections.registry.values()
        if cls.name not in names
    ]
    return notice("\n".join(lines) or "No providers are installed.")


async def on_invoices(
    svc: Services,
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
    command: dict[str, Any],
) -> None:
    text = unescape(command.get("text") or "").strip()
    team_id, user_id = command["team_id"], command["user_id"]
    registry = svc.connections.registry
    creating = [name for name, cls in registry.items() if cls.capabilities.create_invoices]
    request = parse(text, svc.provider_named, registry, creating)
    if isinstance(request, Help | Unknown):
        problem = request.problem if isinstance(request, Unknown) else None
        lines = help_lines(
            oauth=svc.settings.oauth,
            creating=sorted(creating),
            installed=sorted(registry),
            drafts=any(cls.capabilities.keeps_drafts for cls in registry.values()),
        )
        await ack(response_type="ephemeral", **help_message(lines, problem))
        return
    if isinstance(request, Connect):
        await ack()
        if not await svc.access.may_administer(team_id, user_id):
            svc.store.audit(
                "refused.connect", team_id=team_id, user_id=user_id, subject=request.provider
            )
            await respond(**notice(ADMIN_REFUSAL))
            return
        cls = svc.connections.provider_class(request.provider)
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=connect_modal(cls, defaults=svc.connect_defaults.get(cls.name)),
        )
        return
    if isinstance(request, NewInvoice):
        cls = svc.connections.provider_class(request.provider)
        if not cls.capabilities.create_invoices:
            await ack(**notice(f"{escape(cls.title)} cannot create invoices from Slack."))
            return
        await ack()
        if not await svc.access.may_pay(team_id, user_id):
            svc.store.audit(
                "refused.create", team_id=team_id, user_id=user_id, subject=request.provider
            )
            await respond(**notice(CREATE_REFUSAL))
            return
        await client.views_open(trigger_id=command["trigger_id"], view=new_invoice_modal(cls))
        return
    if isinstance(request, ListInvoices):
        await ack()
        svc.store.audit(
            "invoices.listed",
            team_id=team_id,
            user_id=user_id,
            subject=text or "open",
            batched=True,
        )
        await svc.acks.turn()
        can_pay = await svc.access.may_pay_shown(team_id, user_id)
        svc.recent.note(team_id, user_id, text)
        message = await listing_message(svc, team_id, request, text=text, can_pay=can_pay)
        async with svc.acks.posting():
            await respond(**message)
        return
    if isinstance(request, PayInvoice):
        await ack()
        if not await svc.access.may_pay(team_id, user_id):
            svc.store.audit("refused.pay", team_id=team_id, user_id=user_id, subject=request.number)
            await respond(**notice(PAY_REFUSAL))
            return
        await respond(**await _pay_invoice(svc, team_id, user_id, request.number))
        return
    if isinstance(request, Status):
        await ack()
        await respond(**await _status(svc, team_id))
        return
    if isinstance(request, Settings):
        await ack()
        refusal = await open_settings(svc, client, team_id, user_id, command["trigger_id"])
        if refusal:
            await respond(**notice(refusal))
        return
    if isinstance(request, Export):
        await ack()
        await on_export(svc, respond, client, team_id, user_id, request)
        return
    if isinstance(request, History):
        await ack()
        await on_history(svc, respond, team_id, user_id, request.number)
        return
    if isinstance(request, People):
        await ack()
        refused = _not_here(svc) or (
            None if await svc.access.may_administer(team_id, user_id) else ADMIN_REFUSAL
        )
        if refused:
            await respond(**notice(refused))
            return
        view = await people.current(svc, team_id)
        await client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    if isinstance(request, Billing):
        await ack()
        await respond(**await _billing(svc, client, team_id, user_id, command["channel_id"]))


def _not_here(svc: Services, what: str = "Who may pay is") -> str | None:
    """With one bot token, people and the billing channel are the operator's settings."""
    if svc.settings.oauth:
        return None
    return f"{what} chosen by whoever runs invoicebot for your team; ask them to change it."


CANNOT_POST_HERE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)
"""Slack's answers to a post in a conversation the bot may not post in."""


async def _billing(
    svc: Services, client: AsyncWebClient, team_id: str, user_id: str, channel_id: str
) -> dict[str, Any]:
    """Each workspace installed by OAuth picks its own channel; with one bot token the
    channel is the operator's setting.

    The channel is kept only once invoicebot has posted in it: confirmations, digests and
    approvals sent to a conversation it cannot post in (a private channel it was not
    invited to, a direct message) would be refused by Slack and never seen."""
    fixed = svc.settings.billing_channel
    where = f"in <#{fixed}>" if fixed else "nowhere (no billing channel is set)"
    if refused := _not_here(svc, f"Paid invoices are announced {where},"):
        return notice(refused)
    if not await svc.access.may_administer(team_id, user_id):
        svc.store.audit("refused.billing", team_id=team_id, user_id=user_id, subject=channel_id)
        return notice(BILLING_REFUSAL)
    try:
        await client.chat_postMessage(
            channel=channel_id,
            text=f"<@{user_id}> chose this channel for invoicebot: paid invoices, digests "
            "and approval requests will be posted here.",
        )
    except SlackApiError as error:
        answer = str(error.response.get("error") or "an error")
        svc.store.audit(
            "refused.billing", team_id=team_id, user_id=user_id, subject=channel_id, reason=answer
        )
        if answer not in CANNOT_POST_HERE:
            return notice(
                f"Slack did not take invoicebot's first post here (`{escape(answer)}`), so "
                "nothing was changed. Type `/invoices billing` again in a moment."
            )
        return notice(
            f"invoicebot cannot post in this conversation (Slack answered `{escape(answer)}`), "
            "so nothing was changed: paid invoices announced here would never be seen. In a "
            "private channel, invite invoicebot first (`/invite @invoicebot`) and type "
            "`/invoices billing` again; a direct message cannot be the billing channel."
        )
    svc.teams.put(team_id, BILLING_CHANNEL, channel_id, user_id)
    svc.store.audit("billing.channel", team_id=team_id, user_id=user_id, subject=channel_id)
    post_where_billing_is_now(svc, team_id)
    return notice(f"Paid invoices will be announced in <#{escape(channel_id)}>.")


def register(app: AsyncApp, svc: Services) -> None:
    async def invoices(
        ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, command: dict[str, Any]
    ) -> None:
        await on_invoices(svc, ack, respond, client, command)

    for name in COMMANDS:
        app.command(name)(shielded(invoices))
