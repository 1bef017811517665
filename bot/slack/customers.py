"""Receivables: the customer pays, so the team copies a payment link or e-mails the invoice.

Generic over providers whose direction is receivable: nothing here names one.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import EMAIL_REFUSAL, LINK_REFUSAL
from bot.checkout import CheckoutRefused, OutcomeUnknown
from bot.models import Invoice, InvoiceStatus, Payment, is_email, today_utc
from bot.outbox import RESPONSE_URL
from bot.provider import Provider, ProviderError
from bot.slack import dialogs, values
from bot.slack.actions import TAMPERED, refuse_unless_payer, show_menu, start_and_show
from bot.slack.blocks.kit import (
    NUMBER_CHARS,
    day,
    escape,
    inline,
    md,
    plain,
)
from bot.slack.blocks.listing import NO_DUE_DATE, notice, status_words
from bot.slack.blocks.paying import customer_link
from bot.slack.connect import result_view, submitted_values
from bot.slack.errors import said, shielded
from bot.slack.listing import listing_message
from bot.slack.progress import read, title_of
from bot.slack.services import Services
from bot.slack.subcommands import ListInvoices, parse
from bot.text import say

BAD_ADDRESS = "Type the address in full, like name@example.com."
SENT_BEFORE = "This form was submitted before; nothing was sent again."
LIST_URL_LIFE = 30 * 60
"""Seconds a click's response URL is taken by Slack."""


async def on_copy_link(
    svc: Services, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """One way to pay (the provider's payment page): make the link straight away."""
    await ack()
    if await refuse_unless_payer(svc, body, respond, LINK_REFUSAL):
        return
    try:
        target = values.PayTarget.decode(body["actions"][0].get("value", ""))
    except values.BadValue:
        await respond(replace_original=False, **notice(TAMPERED))
        return
    team_id = body["team"]["id"]
    title = title_of(svc, target.provider)
    # No "asking…" note in place of the list: the list stays, the link comes below it.
    options = await read(
        svc.checkout.options(team_id, target.provider, list(target.invoice_ids), reuse=True),
        title,
    )
    methods = options.selectable_methods
    if len(methods) != 1 or methods[0].issuers:  # a choice to make: the menu, below
        await show_menu(svc, body, respond, target, reuse=True, fresh=True)
        return
    chosen = values.PayTarget(
        target.provider, target.invoice_ids, methods[0].id, None, options.total
    )
    customer = options.invoices[0].payer if len(options.invoices) == 1 else None
    clicker = body["user"]["id"]

    def message(payment: Payment, pay_url: str, provider: Provider, lifetime: float) -> Any:
        return customer_link(payment, pay_url, lifetime, customer, clicker)

    await start_and_show(svc, body, respond, chosen, announced=True, link_message=message)


def email_modal(
    target: values.PayTarget,
    invoice: Invoice | None = None,
    error: str | None = None,
    *,
    title: str = "the provider",
    typed: str | None = None,
    draft: bool = False,
    url: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """What is sent, to whom: the invoice, its customer and amount, and the address on
    file filled in (change it to send elsewhere). Shown again after a refusal: `typed`
    is the address the person gave, `draft` whether the invoice was one, `url` the
    response URL of the list it was clicked in, sealed (refreshed once a draft is sent). An
    overdue invoice says so in the list's words, counted from `today` (the workspace's)."""
    draft = invoice.issuable if invoice is not None else draft
    blocks: list[dict[str, Any]] = []
    if error:
        blocks.append(
            {"type": "section", "block_id": "problem", "text": md(f":warning: {escape(error)}")}
        )
    if invoice is not None:
        who = f" · {inline(invoice.payer, NUMBER_CHARS)}" if invoice.payer else ""
        now = today or today_utc()
        due = f"due {day(invoice.due)}" if invoice.due else NO_DUE_DATE
        if invoice.is_overdue(now):
            due = status_words(invoice, now)  # the list's ":red_circle: overdue 3 days (due …)"
        issues = (
            "\nIt is a draft: sending it should issue it for the customer to pay; you are "
            f"told if {escape(title)} still lists it as a draft."
            if draft
            else ""
        )
        blocks.append(
            {
                "type": "section",
                "block_id": "invoice",
                "text": md(
                    f"Invoice *{inline(invoice.number, NUMBER_CHARS)}*{who}\n"
                    f"*{invoice.amount_due.format()}* · {due}{issues}"
                ),
            }
        )
    element: dict[str, Any] = {"type": "email_text_input", "action_id": "value"}
    on_file = invoice.payer_email if invoice is not None else None
    if typed or on_file:
        element["initial_value"] = typed or on_file
    blocks.append(
        {
            "type": "input",
            "block_id": "to",
            "optional": not on_file,
            "label": plain("Send to"),
            "hint": plain(
                "The customer's address on file; change it to send the invoice elsewhere."
                if on_file
                else "Leave empty to use the address on the invoice."
            ),
            "element": element,
        }
    )
    return {
        "type": "modal",
        "callback_id": values.EMAIL_VIEW,
        "private_metadata": _email_metadata(target, draft, url),
        "title": plain("Send by e-mail", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _email_metadata(target: values.PayTarget, draft: bool, url: str | None) -> str:
    """Within Slack's `private_metadata` limit, past which it refuses the whole dialog:
    the one invoice sent (a value may name up to 50), and the sealed list URL only where
    it fits (it only refreshes the list once a draft is sent)."""
    one = values.PayTarget(
        target.provider, target.invoice_ids[:1], target.method_id, target.issuer_id, target.amount
    )
    kept: dict[str, Any] = {"target": one.encode(), "draft": draft}
    if url and len(carried := json.dumps({**kept, "url": url})) <= values.METADATA_CHARS:
        return carried
    return json.dumps(kept)


async def on_send_email(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    await ack()
    try:
        target = values.PayTarget.decode(body["actions"][0].get("value", ""))
    except values.BadValue:
        return
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_pay(team_id, user_id):
        # Refused before the invoice and its customer's address are shown, not on submit.
        svc.store.audit("refused.pay", team_id=team_id, user_id=user_id, subject="send_email")
        await client.views_open(
            trigger_id=body["trigger_id"], view=result_view("Not sent", EMAIL_REFUSAL)
        )
        return
    # The trigger lasts 3 s: open first, then show the invoice once the provider answers.
    title = title_of(svc, target.provider)
    opened = await client.views_open(
        trigger_id=body["trigger_id"],
        view=result_view("Send by e-mail", f"Looking up the invoice at {escape(title)}…"),
    )
    view_id = (opened.get("view") or {}).get("id")
    try:
        provider = svc.connections.get(body["team"]["id"], target.provider)
        if not provider.capabilities.send_by_email:  # no such button: the dialog has no Send
            raise ProviderError(f"{provider.title} cannot send invoices by e-mail.")
        invoice = await read(provider.get_invoice(target.invoice_ids[0]), title)
    except ProviderError as error:
        await dialogs.update(client, view_id, result_view("Not sent", said(error)))
        return
    shown = values.PayTarget(target.provider, target.invoice_ids, amount=invoice.amount_due)
    url = _sealed_url(svc, body.get("response_url"))  # none from App Home
    dialog = email_modal(shown, invoice, title=title, url=url, today=svc.today())
    await dialogs.update(client, view_id, dialog)


async def on_email_submit(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view = body["view"]
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    try:
        target = values.PayTarget.decode(str(values.metadata(view)["target"]))
    except (ValueError, KeyError, values.BadValue):
        await ack(response_action="update", view=result_view("Not sent", TAMPERED))
        return
    if not await svc.access.may_pay(team_id, user_id):
        await ack(
            response_action="update",
            view=result_view("Not sent", EMAIL_REFUSAL),
        )
        return
    to = submitted_values(view).get("to", "").strip() or None
    if to is not None and not is_email(to):  # nothing is recorded or sent for a typo
        await ack(response_action="errors", errors={"to": BAD_ADDRESS})
        return
    # Slack takes a form once (the answer replaces it), so this one came again: a
    # replayed request. Its hash changes with each showing, so a form shown again after
    # a refusal is sent anew.
    key = f"{values.EMAIL_VIEW}:{team_id}:{view.get('id')}:{view.get('hash') or ''}"
    if not svc.store.claim_submission(key, team_id=team_id, user_id=user_id):
        await ack(response_action="update", view=result_view("Already sent", SENT_BEFORE))
        return
    was_draft = bool(values.metadata(view).get("draft"))
    url = values.metadata(view).get("url")
    sealed = url if isinstance(url, str) else None
    list_url = _opened_url(svc, sealed)
    await ack(
        response_action="update", view=result_view("Sending…", "Asking the provider to send it…")
    )
    try:
        payment = await svc.checkout.send_by_email(
            team_id=team_id,
            user_id=user_id,
            provider=target.provider,
            invoice_id=target.invoice_ids[0],
            to=to,
            expected=target.amount,  # what the dialog showed
            today=svc.today(),
        )
    except OutcomeUnknown as error:
        # It may have gone out: offering the form again would invite a second e-mail.
        svc.snapshots.forget(target.provider)  # a draft may have been issued
        shown = said(error)
        told = dialogs.Told(svc.store, team_id, user_id, f":warning: Send by e-mail: {shown}")
        await dialogs.update(client, view["id"], result_view("Not known", shown), tell=told)
        return
    except CheckoutRefused as error:
        # Nothing was sent and sending again cannot help (another amount, another send
        # on its way, already paid): no Send to press again.
        told = dialogs.Told(
            svc.store, team_id, user_id, f":warning: Not sent by e-mail: {said(error)}"
        )
        await dialogs.update(client, view["id"], result_view("Not sent", said(error)), tell=told)
        return
    except ProviderError as error:
        again = email_modal(
            target,
            error=say(error),
            title=title_of(svc, target.provider),
            typed=to,
            draft=was_draft,
            url=sealed,
        )
        told = dialogs.Told(
            svc.store, team_id, user_id, f":warning: Not sent by e-mail: {said(error)}"
        )
        await dialogs.update(client, view["id"], again, tell=told)
        return
    if was_draft:
        svc.snapshots.forget(target.provider)  # the next list shows it issued, not a draft
    address = (
        payment.start.to if payment.start and payment.start.kind == "emailed" else "the customer"
    )
    svc.store.audit(
        "invoice.emailed", team_id=team_id, user_id=user_id, subject=payment.id, to=address
    )
    text = (
        f":email: Invoice {', '.join(inline(n, NUMBER_CHARS) for n in payment.invoice_numbers)} "
        f"({payment.amount.format()}) was sent to {escape(address)}. "
        "The billing channel hears when the customer pays."
    )
    if was_draft:
        text += await _still_a_draft(svc, team_id, target)
    await dialogs.update(
        client,
        view["id"],
        result_view("Sent", text),
        tell=dialogs.Told(svc.store, team_id, user_id, text),
    )
    if was_draft and list_url:
        await _list_again(svc, team_id, user_id, list_url, payment)


def _sealed_url(svc: Services, url: object) -> str | None:
    """A click's response URL as its dialog carries it: sealed with the secret key, so
    that a forged submission cannot name another address to post the person's list to,
    and dated, so that one Slack no longer takes is not posted to."""
    box = svc.store.box
    return box.seal_text(url).decode() if isinstance(url, str) and box is not None else None


def _opened_url(svc: Services, sealed: str | None) -> str | None:
    """The response URL `_sealed_url` sealed, while Slack still takes it; else None."""
    box = svc.store.box
    if sealed is None or box is None:
        return None
    return box.open_text(sealed.encode(), ttl=LIST_URL_LIFE)


async def _list_again(
    svc: Services, team_id: str, user_id: str, url: str, payment: Payment
) -> None:
    """The list a draft was sent from, shown again as it is now: left as it was, it would
    still offer the sent invoice as a draft to send. Slack sends nothing of an ephemeral
    list back with a click, so it is the person's latest list, as Back shows it."""
    words = svc.recent.words(team_id, user_id)
    request = parse(words, svc.provider_named)
    if not isinstance(request, ListInvoices):  # a provider since disconnected, say
        request, words = ListInvoices(), ""
    listed = await listing_message(svc, team_id, request, text=words, can_pay=True)
    svc.store.enqueue(
        RESPONSE_URL,
        {"url": url, "body": {"replace_original": True, **listed}},
        key=f"emailed-list:{payment.id}",
        team_id=team_id,
    )


async def _still_a_draft(svc: Services, team_id: str, target: values.PayTarget) -> str:
    """Sending a draft is taken to issue it; if the provider still lists it as a draft,
    the customer may not be able to pay it, and the sender is told (a failed read: nothing)."""
    title = title_of(svc, target.provider)
    try:
        provider = svc.connections.get(team_id, target.provider)
        invoice = await read(provider.get_invoice(target.invoice_ids[0]), title)
    except ProviderError:
        return ""
    if invoice.status is not InvoiceStatus.DRAFT:
        return ""
    return (
        f" {escape(title)} still lists it as a draft, so the customer may not be able to pay "
        f"it yet: issue it at {escape(title)} if they cannot."
    )


def register(app: AsyncApp, svc: Services) -> None:
    async def copy(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await on_copy_link(svc, ack, body, respond)

    async def email(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_send_email(svc, ack, body, client)

    async def email_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_email_submit(svc, ack, body, client)

    app.action(values.COPY_LINK)(shielded(copy, message_only=True))
    app.action(values.SEND_EMAIL)(shielded(email))
    app.view(values.EMAIL_VIEW)(shielded(email_submit))
