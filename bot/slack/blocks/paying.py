"""Paying: the method menu, the payment link, and what the message becomes afterwards."""

from __future__ import annotations

from typing import Any

from bot.models import Payment, PaymentMethod, PaymentOptions, PaymentState
from bot.provider import Direction, Provider
from bot.slack import values
from bot.slack.blocks.kit import (
    Block,
    Ids,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    header,
    moment,
    option,
    plain,
    section,
)


def duration(seconds: float) -> str:
    days, minutes = int(seconds // 86400), int(seconds // 60)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _numbers(numbers: tuple[str, ...] | list[str]) -> str:
    return ", ".join(numbers)


def _method_label(method: PaymentMethod, issuer_id: str | None) -> str:
    issuer = next((i.name for i in method.issuers if i.id == issuer_id), None)
    return f"{method.name} ({issuer})" if issuer else method.name


def _select(
    action_id: str, placeholder: str, choices: list[tuple[str, str]], chosen: str | None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, 150),
        "options": [option(text, value) for text, value in choices[:100]],
    }
    initial = next((option(t, v) for t, v in choices if v == chosen), None)
    if initial:
        element["initial_option"] = initial
    return element


def pay_menu(
    provider: Provider, options: PaymentOptions, target: values.PayTarget
) -> dict[str, Any]:
    """The invoice(s), the total, the methods allowed now, and the button that starts it."""
    ids = Ids()
    numbers = [invoice.number for invoice in options.invoices]
    receivable = provider.capabilities.direction is Direction.RECEIVABLE
    verb = "Get a payment link for" if receivable else "Pay"
    title = f"{verb} {numbers[0]}" if len(numbers) == 1 else f"{verb} {len(numbers)} invoices"
    blocks: list[Block] = [header(ids, title)]
    for invoice in options.invoices:
        description = f" — {escape(invoice.description)}" if invoice.description else ""
        blocks.append(
            section(
                ids,
                f"*{escape(invoice.number)}*{description}\n"
                f"{invoice.amount_due.format()} · due {invoice.due or '—'}",
            )
        )
    notes = []
    if options.credits_settled:
        notes.append(
            "Credit notes settled with it: "
            + ", ".join(escape(c.number) for c in options.credits_settled)
        )
    if options.account_credit is not None and not options.account_credit.is_zero():
        notes.append(f"Account credit: {options.account_credit.format()}")
    blocks.append(section(ids, f"*Total: {options.total.format()}* at {escape(provider.title)}"))
    if notes:
        blocks.append(context(ids, *notes))
    selectable = options.selectable_methods
    unavailable = [m for m in options.methods if not m.selectable]
    if not selectable:
        blocks.append(
            section(ids, ":no_entry: The provider allows no payment method for this right now.")
        )
    method = options.method(target.method_id) if target.method_id else None
    if method is not None and not method.selectable:
        method = None
    controls: list[dict[str, Any]] = []
    if selectable:
        controls.append(
            _select(
                values.CHOOSE_METHOD,
                "Choose how to pay",
                [(m.name, m.id) for m in selectable],
                method.id if method else None,
            )
        )
    issuer_id = (
        target.issuer_id
        if method and any(i.id == target.issuer_id for i in method.issuers)
        else None
    )
    if method and method.issuers:
        controls.append(
            _select(
                values.CHOOSE_ISSUER,
                "Choose your bank",
                [(i.name, i.id) for i in method.issuers],
                issuer_id,
            )
        )
    ready = method is not None and (not method.issuers or issuer_id is not None)
    if ready and method is not None:
        chosen = values.PayTarget(
            target.provider, target.invoice_ids, method.id, issuer_id, options.total
        )
        label = _method_label(method, issuer_id)
        if method.saved_card:
            controls.append(
                button(
                    "Pay now",
                    values.GET_LINK,
                    chosen.encode(),
                    style="danger",
                    confirm=confirm_dialog(
                        "Charge the card now?",
                        f"Charge *{options.total.format()}* to *{escape(label)}* now for "
                        f"invoice {escape(_numbers(numbers))}? This cannot be undone.",
                        "Charge now",
                        danger=True,
                    ),
                )
            )
        else:
            controls.append(
                button(
                    "Get payment link",
                    values.GET_LINK,
                    chosen.encode(),
                    style="primary",
                    confirm=confirm_dialog(
                        "Get a payment link?",
                        f"Pay *{options.total.format()}* for invoice "
                        f"{escape(_numbers(numbers))} with *{escape(label)}*?",
                        "Get link",
                    ),
                )
            )
    controls.append(button("Back to the list", values.BACK, target.encode()))
    blocks.append(actions(ids, controls, name=f"pay:{target.encode()}"))
    if unavailable:
        reasons = "\n".join(
            f"• {escape(m.name)}: {escape(m.reason or 'not available')}" for m in unavailable[:8]
        )
        blocks.append(context(ids, f"Not available now:\n{reasons}"))
    return {"text": f"{escape(title)}: {options.total.format()}", "blocks": blocks}


def payment_link(
    payment: Payment, pay_url: str, provider: Provider, lifetime: float
) -> dict[str, Any]:
    ids = Ids()
    numbers = escape(_numbers(payment.invoice_numbers))
    receivable = provider.capabilities.direction is Direction.RECEIVABLE
    lead = (
        f"Payment link for the customer: *{payment.amount.format()}* for invoice {numbers}. "
        f"Send them this link:\n{pay_url}"
        if receivable
        else f"*{payment.amount.format()}* for invoice {numbers} "
        f"with *{escape(payment.method_name)}*."
    )
    return {
        "text": f"Payment link for invoice {escape(_numbers(payment.invoice_numbers))}: {pay_url}",
        "blocks": [
            section(ids, lead),
            actions(
                ids,
                [
                    button(
                        "Open payment page",
                        values.OPEN_LINK,
                        payment.id,
                        url=pay_url,
                        style="primary",
                    )
                ],
            ),
            context(
                ids,
                f"The link works for {duration(lifetime)}. "
                "The billing channel hears as soon as the payment lands.",
            ),
        ],
    }


def settled(payment: Payment, *, paid_by: Payment | None = None) -> dict[str, Any]:
    """What the payment's message becomes once it is settled: no buttons left to click."""
    ids = Ids()
    numbers = escape(_numbers(payment.invoice_numbers))
    reason = escape(payment.last_error or "")
    if payment.state is PaymentState.PAID:
        when = moment(payment.paid_at) if payment.paid_at else "just now"
        text = (
            f":white_check_mark: Invoice {numbers} is paid: *{payment.amount.format()}* "
            f"by {escape(payment.method_name)}, {when}."
        )
    elif payment.state is PaymentState.SUPERSEDED:
        who = f" by <@{paid_by.user_id}>" if paid_by else ""
        text = (
            f"Invoice {numbers} has been paid through another payment{who}. "
            "This link is no longer needed; nothing was charged through it."
        )
    elif payment.state is PaymentState.FAILED:
        text = f":x: The payment of invoice {numbers} failed: {reason}"
        if not payment.charges_at_once or "not charged" in reason.lower():
            text += " Nothing was charged; you can try again."
    elif payment.state in (PaymentState.LINK_ISSUED, PaymentState.OPENED):
        text = (
            f":hourglass: {escape(payment.method_name)} was charged for invoice {numbers}; "
            "waiting for the provider to confirm it. This message changes when it does."
        )
    elif payment.state is PaymentState.UNKNOWN:
        text = (
            f":hourglass: The outcome of the payment of invoice {numbers} is not known yet. "
            "invoicebot is checking with the provider and will update this message. "
            "Do not pay again."
        )
    elif payment.state is PaymentState.EXPIRED and payment.charges_at_once:
        text = (
            f":warning: The provider never confirmed the payment of invoice {numbers} "
            f"({reason}). Check the invoice at the provider before paying again."
        )
    else:
        text = f"The payment of invoice {numbers} was {payment.state.value.replace('_', ' ')}."
        if reason:
            text += f" {reason[:1].upper()}{reason[1:]}."
    return {"text": text, "blocks": [section(ids, text)]}


def confirmation(payment: Payment, provider_title: str) -> dict[str, Any]:
    """The billing channel's record: who paid, what, how much, which method, when."""
    ids = Ids()
    numbers = escape(_numbers(payment.invoice_numbers))
    when = moment(payment.paid_at) if payment.paid_at else "now"
    if payment.direction == Direction.RECEIVABLE.value:
        lead = (
            f":moneybag: The customer paid {escape(provider_title)} invoice {numbers}: "
            f"*{payment.amount.format()}*"
        )
        who = f"Link sent by <@{payment.user_id}>"
    else:
        lead = (
            f":white_check_mark: <@{payment.user_id}> paid {escape(provider_title)} "
            f"invoice {numbers}: *{payment.amount.format()}*"
        )
        who = f"Paid by <@{payment.user_id}>"
    return {
        "text": (
            f"Paid: {escape(provider_title)} invoice {numbers}, "
            f"{payment.amount.format()} by {escape(payment.method_name)}"
        ),
        "blocks": [
            section(ids, lead),
            {
                "type": "section",
                "block_id": ids("fields"),
                "fields": [
                    {"type": "mrkdwn", "text": f"*Invoice*\n{numbers}"},
                    {"type": "mrkdwn", "text": f"*Amount*\n{payment.amount.format()}"},
                    {"type": "mrkdwn", "text": f"*Method*\n{escape(payment.method_name)}"},
                    {"type": "mrkdwn", "text": f"*When*\n{when}"},
                ],
            },
            context(ids, who),
        ],
    }
