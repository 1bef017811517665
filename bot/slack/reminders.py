"""**Send reminder** on an overdue customer invoice: the provider e-mails it again.

The answer goes to the clicker alone (a new message, never in place of the list or the
digest it came from), so everyone else keeps reading what they read.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import refusal
from bot.provider import ProviderError
from bot.reminding import AlreadyToday, PaidHere, UnderWay, can_remind, remind_customer
from bot.slack import values
from bot.slack.actions import TAMPERED
from bot.slack.blocks.kit import NUMBER_CHARS, escape, inline
from bot.slack.blocks.listing import notice
from bot.slack.errors import said, shielded
from bot.slack.progress import read, title_of
from bot.slack.services import Services
from bot.text import one_line

REMIND_REFUSAL = refusal("send reminders to customers")


async def on_remind(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    team_id, user_id = body["team"]["id"], body["user"]["id"]

    async def answer(text: str) -> None:
        await respond(replace_original=False, **notice(text))

    if not await svc.access.may_pay(team_id, user_id):
        svc.store.audit("refused.remind", team_id=team_id, user_id=user_id)
        await answer(REMIND_REFUSAL)
        return
    try:
        target = values.PayTarget.decode(body["actions"][0].get("value", ""))
    except values.BadValue:
        await answer(TAMPERED)
        return
    title = title_of(svc, target.provider)
    try:
        provider = svc.connections.get(team_id, target.provider)
        if not can_remind(provider):
            await answer(f"{escape(provider.title)} cannot send reminders.")
            return
        invoice = await read(provider.get_invoice(target.invoice_ids[0]), title)
        number = inline(invoice.number, NUMBER_CHARS)
        if not invoice.payable:
            await answer(f"Invoice {number} is {invoice.status.value}: no reminder sent.")
            return
        today = svc.clock.now().astimezone(svc.settings.timetable.zone).date()
        done = await remind_customer(
            svc.store, svc.runs, provider, invoice, team_id=team_id, today=today, user_id=user_id
        )
    except ProviderError as error:
        await answer(f":warning: {said(error)}")
        return
    if isinstance(done, PaidHere):
        title = escape(provider.title)
        paid = "paid" if done.whole else "paid in part"
        rest = (
            f"Mark it paid at {title}."
            if done.whole
            else f"E-mailing it again would ask for all of it: collect the rest at {title}."
        )
        await answer(
            f"Invoice {number} was {paid} through invoicebot, though {title} "
            f"still lists it as unpaid: no reminder sent. {rest}"
        )
        return
    if isinstance(done, UnderWay):
        await answer(
            f"A payment of invoice {number} through invoicebot is still being "
            f"confirmed with {escape(provider.title)}: no reminder sent, so the customer is "
            "not asked to pay twice; invoicebot keeps asking, and #billing hears when it is paid."
        )
        return
    if isinstance(done, AlreadyToday):
        earlier = done.earlier.user_id if done.earlier else None
        who = "" if not earlier else " by you" if earlier == user_id else f" by <@{earlier}>"
        if done.earlier is not None and done.earlier.automatic:
            who = ", automatically"  # the scheduled reminders: no one clicked
        if done.earlier is not None and done.earlier.state != "sent":
            # Its send was cut short or its answer lost: it may not have gone out.
            title = escape(provider.title)
            await answer(
                f"{title} was asked to e-mail a reminder of invoice {number} today{who}, but "
                "has not confirmed that it went out. invoicebot sends one reminder a day at "
                f"most, so none goes out now: check at {title} whether the customer got it."
            )
            return
        await answer(
            f"{one_line(invoice.payer or 'The customer')} was already reminded of invoice "
            f"{number} today{who}; invoicebot sends one reminder a day at most."
        )
        return
    await answer(
        f":email: Reminder sent: invoice {number} "
        f"({invoice.amount_due.format()}) was e-mailed again to {one_line(done.sent_to)}."
    )


def register(app: AsyncApp, svc: Services) -> None:
    async def remind(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await on_remind(svc, ack, body, respond)

    app.action(values.REMIND)(shielded(remind, message_only=True))
