"""Buttons and menus: Pay, choosing a method and bank, getting the link, paging.

Every handler acks first, then re-reads what the value refers to through this
workspace's own connections, so a stale or tampered value can never reach another
team's invoice or pay something the provider no longer offers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import PAY_REFUSAL
from bot.checkout import OutcomeUnknown, Started
from bot.models import FormPost, Payment, PaymentOptions, PaymentState, Redirect
from bot.provider import Provider, ProviderError
from bot.slack import values
from bot.slack.approvals_gate import apply_gate
from bot.slack.blocks.kit import Ids, actions, button
from bot.slack.blocks.listing import notice
from bot.slack.blocks.paying import (
    already_paid,
    offers_payment,
    pay_menu,
    payment_link,
    reopened_notice,
    settled,
)
from bot.slack.errors import said, shielded
from bot.slack.link_out import link_out
from bot.slack.listing import listing_message, open_again
from bot.slack.progress import (
    STOPPED,
    UNSHOWN,
    StandIn,
    busy,
    patiently,
    post_link,
    read,
    show_link,
    standing_in,
    title_of,
)
from bot.slack.services import Services
from bot.slack.subcommands import ListInvoices, parse

log = logging.getLogger(__name__)

TAMPERED = "That button is not one invoicebot made, or it is out of date. Nothing was done."
LINK_CANCELLED_STOPPED = (
    ":warning: The payment link was cancelled, and nothing was charged through it; "
    "invoicebot stopped before it could show the ways to pay. Type `/invoices` to start again."
)
LINK_CANCELLED_UNSHOWN = (
    ":warning: The payment link was cancelled, and nothing was charged through it; "
    "Slack did not take the ways to pay, so they could not be shown. Type `/invoices` to "
    "start again."
)


def _numbers(svc: Services, team_id: str, target: values.PayTarget) -> dict[str, Any]:
    """The invoice numbers a start is for, as the audit's `invoices` should it be refused
    or its outcome be unknown: the row's subject holds only the provider's ids, which
    finance cannot read. They come from the offer the payer chose from; none when that
    offer is no longer kept."""
    offer = svc.checkout.recent_options(team_id, target.provider, list(target.invoice_ids))
    return {"invoices": [invoice.number for invoice in offer.invoices]} if offer else {}


def _customer(offer: PaymentOptions | None) -> str | None:
    """Whom one invoice's link is for, as Copy payment link names them."""
    return offer.invoices[0].payer if offer and len(offer.invoices) == 1 else None


def _who(body: dict[str, Any]) -> tuple[str, str]:
    return body["team"]["id"], body["user"]["id"]


def _action(body: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = body["actions"][0]
    return action


def block_target(block_id: str) -> values.PayTarget:
    """The pay menu's context rides in its actions block id: `pay:<target>~n~nonce`.

    A block id is cut at 255 characters; a target cut short could still read as fewer
    invoices, so one whose `~n~nonce` tail is gone is refused, never paid.
    """
    target, tail = block_id.removeprefix("pay:"), None
    if target != block_id:
        target, _, tail = target.partition("~")
    if not tail:
        raise values.BadValue(block_id)
    return values.PayTarget.decode(target)


def _selected(body: dict[str, Any], block_id: str, action_id: str) -> str | None:
    state = body.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    chosen = state.get("selected_option")
    return chosen["value"] if chosen else None


async def refuse_unless_payer(
    svc: Services, body: dict[str, Any], respond: AsyncRespond, refusal: str = PAY_REFUSAL
) -> bool:
    team_id, user_id = _who(body)
    if await svc.access.may_pay(team_id, user_id):
        return False
    svc.store.audit(
        "refused.pay", team_id=team_id, user_id=user_id, subject=_action(body).get("action_id")
    )
    await respond(replace_original=False, **notice(refusal))
    return True


async def show_menu(
    svc: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    target: values.PayTarget,
    *,
    reuse: bool = False,
    fresh: bool = False,
    stopped: str = STOPPED,
    unshown: str = UNSHOWN,
) -> None:
    """The pay menu; `reuse` takes the offer fetched moments ago (a method or bank chosen).
    `fresh`: the menu comes as a new message and the clicked one stays as it was (a click's
    response_url can change only the message clicked, so there is no "Asking…" first).
    `stopped`, `unshown`: what the message says should the bot stop before the menu is
    shown, or Slack not take it."""
    if fresh:
        await _menu(svc, body, respond, target, reuse=reuse, fresh=fresh)
        return
    async with standing_in(svc, body, stopped, unshown) as stand:
        await _menu(svc, body, respond, target, reuse=reuse, fresh=fresh, stand=stand)


async def _menu(
    svc: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    target: values.PayTarget,
    *,
    reuse: bool,
    fresh: bool,
    stand: StandIn | None = None,
) -> None:
    team_id, user_id = _who(body)
    provider = svc.connections.get(team_id, target.provider)
    stand = stand or StandIn(svc.store)

    async def answer(**message: Any) -> None:
        await stand.answer(respond, **message)  # see `standing_in`

    ids = list(target.invoice_ids)
    if (paid := svc.checkout.paid_already(team_id, target.provider, ids)) is not None:
        # A stale button: the story is ours to tell, the same way the payer's message did;
        # or one the provider lists open again since (which a second payment here cannot tell).
        reopened = await open_again(svc, team_id, provider, ids)
        told = reopened_notice(paid, reopened, provider.title) if reopened else None
        await answer(replace_original=not fresh, **(told or already_paid(paid, ids)))
        return
    if (doubt := svc.checkout.charge_in_doubt(team_id, target.provider, ids)) is not None:
        # Before any menu: a method chosen and "Charge now" confirmed would only be refused.
        await answer(replace_original=False, **notice(doubt))
        return
    # A new message cannot replace the clicked one; an offer fetched moments ago is instant.
    recent = reuse and svc.checkout.recent_options(team_id, target.provider, ids)
    asking = not fresh and not recent
    noted = False  # the clicked message reads "Asking…" in place of its buttons

    async def asking_note() -> None:
        nonlocal noted
        noted = True
        stand.asking()
        await busy(respond, f"Asking {provider.title} for today's amount")

    # A link out is always checked against the provider's amount now, never a kept offer.
    shown, options = await link_out(
        svc, team_id, provider, ids, user_id, asking=None if fresh else asking_note
    )
    if shown is not None:  # any start would be refused while it stands
        await answer(replace_original=not fresh, **shown)
        return
    if options is None:
        if asking:
            noted = True
            stand.asking()
            await busy(respond, f"Asking {provider.title} which ways to pay it allows")
        options = await read(
            svc.checkout.options(team_id, target.provider, ids, reuse=reuse), provider.title
        )
    # Refused here rather than after Get link, where the menu's total could only fail.
    svc.checkout.refuse_if_credit_held(team_id, target.provider, ids, options, user_id)
    menu = pay_menu(provider, options, target, today=svc.today())
    if not offers_payment(menu):  # too many ticked: said where the list was, or below it
        if noted:  # unless "Asking…" took its place: the answer does, with a way back
            menu["blocks"].append(actions(Ids(), [button("Back to the list", values.BACK)]))
        await answer(replace_original=noted, **menu)
        return
    svc.store.audit(
        "payment.menu",
        team_id=team_id,
        user_id=user_id,
        subject=target.encode(),
        invoices=[invoice.number for invoice in options.invoices],
    )
    menu = apply_gate(svc, team_id, target, options, menu, user_id)
    await answer(replace_original=not fresh, **menu)


async def on_pay(svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    if await refuse_unless_payer(svc, body, respond):
        return
    try:
        target = values.PayTarget.decode(_action(body).get("value", ""))
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    fresh = _action(body).get("action_id") == values.PAY_APPROVED
    payment = values.PayTarget(target.provider, target.invoice_ids)
    await show_menu(svc, body, respond, payment, fresh=fresh)


async def on_pay_selected(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    if await refuse_unless_payer(svc, body, respond):
        return
    action = _action(body)
    provider = action.get("value", "")
    block = body.get("state", {}).get("values", {}).get(action["block_id"], {})
    ticked = block.get(values.SELECT_INVOICES, {}).get("selected_options") or []
    picked = [option["value"] for option in ticked]
    if not picked:
        await respond(replace_original=False, **notice("Tick the invoices to pay together first."))
        return
    try:
        target = values.PayTarget.decode(f"{provider}|{','.join(picked)}")
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    await show_menu(svc, body, respond, target)


async def on_choose(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    if await refuse_unless_payer(svc, body, respond):  # the menu is the payer's alone
        return
    action = _action(body)
    try:
        target = block_target(action["block_id"])
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    # Slack may leave an untouched select out of the state, though it shows an initial
    # option (python-slack-sdk #1350): the menu's method also rides in its block id.
    method = _selected(body, action["block_id"], values.CHOOSE_METHOD) or target.method_id
    issuer = _selected(body, action["block_id"], values.CHOOSE_ISSUER)
    chosen = (action.get("selected_option") or {}).get("value")  # None: choice cleared
    if action["action_id"] == values.CHOOSE_METHOD:
        method, issuer = chosen, None
    else:
        issuer = chosen
    await show_menu(
        svc,
        body,
        respond,
        values.PayTarget(target.provider, target.invoice_ids, method, issuer),
        reuse=True,
    )


async def on_get_link(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    if await refuse_unless_payer(svc, body, respond):
        return
    try:
        target = values.PayTarget.decode(_action(body).get("value", ""))
        if target.method_id is None or target.amount is None:
            raise values.BadValue("incomplete")
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    await start_and_show(svc, body, respond, target)


async def start_and_show(
    svc: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    target: values.PayTarget,
    *,
    announced: bool = False,
    link_message: Callable[[Payment, str, Provider, float], dict[str, Any]] = payment_link,
) -> None:
    """Start the payment `target` describes and turn the message into its link (or result).

    `announced`: the message already says what is happening (a response URL takes only
    five answers, so no second note). `link_message` other than the default is posted
    as a new message, leaving the clicked one (a list) as it was."""
    team_id, user_id = _who(body)
    assert target.method_id is not None and target.amount is not None
    title = title_of(svc, target.provider)
    # The payment's message, settled in place when it ends, is the one its link replaces.
    # A link that comes as a new message cannot be reached that way (a response URL
    # replaces only the message clicked): its end must not replace the list or the
    # channel's digest the click came from. The billing channel hears either way.
    in_place = link_message is payment_link
    ids = list(target.invoice_ids)
    numbers = _numbers(svc, team_id, target)  # the start uses up the offer they are read from
    customer = _customer(svc.checkout.recent_options(team_id, target.provider, ids))
    stand = StandIn(svc.store)
    try:
        if not announced:
            # The start first reads the offer again (none is kept across a restart), and
            # until its payment is recorded nothing else would replace "Asking…" should
            # the bot stop: stood in for while it is read. The start then takes the offer
            # just read and records at once.
            async with standing_in(svc, body) as stand:
                stand.asking()
                await busy(respond, f"Asking {title} to start the payment")
                offer = await svc.checkout.options(team_id, target.provider, ids, reuse=True)
                customer = _customer(offer)
        start = svc.checkout.start(
            team_id=team_id,
            user_id=user_id,
            provider=target.provider,
            invoice_ids=list(target.invoice_ids),
            method_id=target.method_id,
            issuer_id=target.issuer_id,
            expected=target.amount,
            channel_id=(body.get("channel") or {}).get("id"),
            response_url=body.get("response_url") if in_place else None,
        )
        started: Started = await patiently(start, respond, title, in_place=in_place)
    except OutcomeUnknown as error:
        svc.store.audit(
            "payment.unknown",
            team_id=team_id,
            user_id=user_id,
            subject=target.encode(),
            **numbers,
        )
        if not error.told:  # else queued with the move to unknown: one use, not two
            await respond(replace_original=in_place, **notice(f":hourglass: {said(error)}"))
        return
    except ProviderError as error:
        svc.store.audit(
            "payment.refused",
            team_id=team_id,
            user_id=user_id,
            subject=target.encode(),
            reason=error.message,
            **numbers,
        )
        stand.refused()  # nothing was started, and the message still reads "Asking…"
        raise
    payment = started.payment
    svc.store.audit(
        "payment.link_shown_again" if started.reused else "payment.started",
        team_id=team_id,
        user_id=user_id,
        subject=payment.id,
        amount=payment.amount.format(),
        method=payment.method_name,
    )
    link = isinstance(payment.start, Redirect | FormPost)
    if not (link and payment.state in (PaymentState.LINK_ISSUED, PaymentState.OPENED)):
        await respond(replace_original=in_place, **settled(payment))
        return
    provider = svc.connections.get(team_id, payment.provider)
    message = (
        payment_link(
            payment, started.pay_url, provider, started.lifetime, customer, clicker=user_id
        )
        if in_place
        else link_message(payment, started.pay_url, provider, started.lifetime)
    )
    if in_place:
        await show_link(svc, body, respond, payment.id, message)
    else:
        await post_link(svc, body, respond, payment.id, message)


async def on_page(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    team_id, user_id = _who(body)
    try:
        request = values.PageRequest.decode(_action(body).get("value", ""))
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    parsed = parse(request.text, svc.provider_named)
    if not isinstance(parsed, ListInvoices):
        await respond(replace_original=False, **notice(TAMPERED))
        return
    async with standing_in(svc, body) as stand:
        stand.asking()
        await busy(respond, "Fetching invoices")
        svc.recent.note(team_id, user_id, request.text)
        listed = await listing_message(
            svc,
            team_id,
            parsed,
            text=request.text,
            side=request.side,
            key=request.key,
            can_pay=await svc.access.may_pay_shown(team_id, user_id),
        )
        await stand.answer(respond, replace_original=True, **listed)


async def on_back(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    team_id, user_id = _who(body)
    async with standing_in(svc, body) as stand:
        stand.asking()
        await busy(respond, "Fetching invoices")
        can_pay = await svc.access.may_pay_shown(team_id, user_id)
        words = svc.recent.words(team_id, user_id)  # the list the person came from
        request = parse(words, svc.provider_named)
        if not isinstance(request, ListInvoices):  # a provider since disconnected, say
            request, words = ListInvoices(), ""
        listed = await listing_message(svc, team_id, request, text=words, can_pay=can_pay)
        await stand.answer(respond, replace_original=True, **listed)


async def on_cancel_link(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Cancel one's own unopened link, then show the pay menu in its place."""
    await ack()
    if await refuse_unless_payer(svc, body, respond):
        return
    team_id, user_id = _who(body)
    payment = svc.store.payment(str(_action(body).get("value", ""))[:64])
    if payment is None or payment.team_id != team_id or payment.user_id != user_id:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    target = values.PayTarget(payment.provider, payment.invoice_ids)
    stopped, unshown = STOPPED, UNSHOWN
    if svc.checkout.withdraw(payment, user_id):
        svc.store.audit(
            "payment.link_cancelled", team_id=team_id, user_id=user_id, subject=payment.id
        )
        stopped, unshown = LINK_CANCELLED_STOPPED, LINK_CANCELLED_UNSHOWN
    # The menu, or why the link still stands.
    await show_menu(svc, body, respond, target, stopped=stopped, unshown=unshown)


async def on_open_link(ack: AsyncAck, body: dict[str, Any]) -> None:
    """A link button still sends an interaction, which Slack wants acked."""
    await ack()


async def on_select_invoices(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, svc: Services) -> None:
    def bind(handler: Any) -> Any:
        async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await handler(svc, ack, body, respond)

        return shielded(listener, message_only=True)

    app.action(values.PAY)(bind(on_pay))
    app.action(values.PAY_APPROVED)(bind(on_pay))
    app.action(values.PAY_SELECTED)(bind(on_pay_selected))
    app.action(values.CHOOSE_METHOD)(bind(on_choose))
    app.action(values.CHOOSE_ISSUER)(bind(on_choose))
    app.action(values.GET_LINK)(bind(on_get_link))
    app.action(values.PAGE_PREVIOUS)(bind(on_page))
    app.action(values.PAGE_NEXT)(bind(on_page))
    app.action(values.BACK)(bind(on_back))
    app.action(values.CANCEL_LINK)(bind(on_cancel_link))
    app.action(values.OPEN_LINK)(on_open_link)
    app.action(values.SELECT_INVOICES)(on_select_invoices)
