"""Paying: the method menu, the payment link, and what the message becomes afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.kit.errors import capitalized, without_retry
from bot.models import Emailed, Money, Payment, PaymentMethod, PaymentOptions, PaymentState
from bot.payments import still_unpaid
from bot.provider import Direction, Provider
from bot.settlement import WATCHABLE
from bot.slack import values
from bot.slack.blocks.kit import (
    DESCRIPTION_CHARS,
    NUMBER_CHARS,
    Block,
    Ids,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    day,
    escape,
    fields,
    header,
    inline,
    moment,
    section,
    select,
)
from bot.slack.blocks.listing import left_of, status_words
from bot.text import one_line
from bot.text import plain as without_protocol


def duration(seconds: float) -> str:
    days, hours, minutes = int(seconds // 86400), int(seconds // 3600), int(seconds // 60)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def link_lifetime(seconds: float) -> str:
    """ "The link works for 30 minutes" or, for a link that lasts longer, until when: a
    link shown again a moment later would otherwise read "6 days" after "7 days"."""
    if seconds <= 3600:
        return f"The link works for {duration(seconds)}."
    return f"The link works until {moment(datetime.now(UTC) + timedelta(seconds=seconds))}."


def _invoice_word(numbers: tuple[str, ...] | list[str]) -> str:
    """ "invoice INV-1" or "invoices INV-1 and INV-2", escaped, each on one line and cut:
    what follows them in a sentence (the amount, the link to send) must still fit."""
    named = [inline(number, NUMBER_CHARS) for number in numbers]
    return f"invoice {named[0]}" if len(named) == 1 else f"invoices {_and(named)}"


def _method_label(method: PaymentMethod, issuer_id: str | None) -> str:
    issuer = next((i.name for i in method.issuers if i.id == issuer_id), None)
    return f"{method.name} ({issuer})" if issuer else method.name


REASON_CHARS = 200
"""Why a method is not available now, as the menu lists it: eight such lines share one
context text of Slack's 3,000 characters."""

BLOCK_ID_CHARS = 255
"""Slack's most characters in a block id, where the menu keeps which invoices it pays."""


MENU_INVOICES = 40
"""Invoices one menu shows, a section each: with its other blocks (at most ten) it stays
within Slack's 50 blocks a message. A person ticks at most ten in a list."""


def _fitting(target: values.PayTarget, options: PaymentOptions) -> int:
    """How many of `target`'s invoices the menu's actions block id holds with any method
    and bank chosen (Slack cuts a longer id, and the cut menu could only refuse), and
    the menu's blocks (`MENU_INVOICES`). Only what can be chosen counts: a method or
    bank the menu cannot carry (`_carried`) never reaches the block id."""
    offered = [m for m in map(_carried, options.methods) if m.selectable]
    method = max((m.id for m in offered), key=len, default="")
    bank = max((i.id for m in offered for i in m.issuers), key=len, default="")
    widest = values.PayTarget(target.provider, (), method, bank, options.total).encode()
    room = BLOCK_ID_CHARS - len("pay:") - len(widest) - len(Ids()("")) - 2  # count to 999
    fitting, used = 0, 0
    for invoice_id in sorted(target.invoice_ids, key=len, reverse=True):  # any N picked
        used += len(invoice_id) + (1 if fitting else 0)
        if used > room or fitting == MENU_INVOICES:
            break
        fitting += 1
    return fitting


UNCARRIED = "cannot be chosen from Slack (the provider's id for it does not fit a Slack menu)"


def _carried(method: PaymentMethod) -> PaymentMethod:
    """`method` as the menu can offer it. The chosen method and bank ride in the menu's
    block id and button values, which are read back strictly (`values.carries`): one
    whose id (or every bank's) they cannot carry is named as unavailable, and a bank
    whose id they cannot carry is left out, instead of a choice answered as tampered."""
    if not method.selectable:
        return method
    issuers = tuple(i for i in method.issuers if values.carries(i.id))
    if not values.carries(method.id) or (method.issuers and not issuers):
        return method.model_copy(update={"selectable": False, "reason": UNCARRIED})
    if len(issuers) < len(method.issuers):
        return method.model_copy(update={"issuers": issuers})
    return method


def offers_payment(menu: dict[str, Any]) -> bool:
    """Whether `pay_menu` gave a menu to pay from, not a word on why it cannot."""
    return any(str(block.get("block_id", "")).startswith("pay:") for block in menu["blocks"])


def _too_many(provider: Provider, target: values.PayTarget, fitting: int) -> dict[str, Any]:
    """Instead of a menu that could not work: how many of these invoices can go together
    (in place of the "Asking…" note that replaced the list, or below it)."""
    ids = Ids()
    title = escape(provider.title)
    if fitting:
        text = (
            f"These {len(target.invoice_ids)} {title} invoices are too many to pay together "
            f"from Slack: pick at most {fitting} of them and choose *Pay selected* again. "
            "Nothing was started."
        )
    else:  # ids of the longest kind: no Slack menu can carry them
        text = (
            f"{title} names this invoice and its ways to pay with ids too long for a Slack "
            f"menu, so it cannot be paid from here: pay it at {title}. Nothing was started."
        )
    return {"text": text, "blocks": [section(ids, text)]}


CONFIRM_TEXT = 300
"""Slack's most characters in a confirm dialog's text."""


def _link_question(
    options: PaymentOptions, receivable: bool, netted: str | None, invoices: str, label: str
) -> str:
    """ "Pay €10.00 for invoice INV-1 with iDEAL?", or for a customer's invoice "A link
    for *Acme* to pay …": the customer's name gets the room the dialog's text leaves and
    is cut first, so the method is never what is cut; "the customer" where there is too
    little room, or not one customer."""
    rest = (
        f" *{options.total.format()}*{f' ({netted})' if netted else ''} for {invoices} "
        f"with *{escape(label)}*?"
    )
    if not receivable:
        return f"Pay{rest}"
    payers = {one_line(invoice.payer or "") for invoice in options.invoices}
    room = min(CONFIRM_TEXT - len(f"A link for ** to pay{rest}"), NUMBER_CHARS)
    if len(payers) != 1 or "" in payers or room < CUSTOMER_CHARS:
        return f"A link for the customer to pay{rest}"
    return f"A link for *{clip(payers.pop(), room, mrkdwn=True)}* to pay{rest}"


CUSTOMER_CHARS = 12
"""The fewest characters of a customer's name the link's dialog shows; with less room it
says "the customer" instead of a stump of a name."""


def pay_menu(
    provider: Provider, options: PaymentOptions, target: values.PayTarget, *, today: date
) -> dict[str, Any]:
    """The invoice(s), the total, the methods allowed now, and the button that starts it;
    an invoice overdue on `today` is marked as the list marks it."""
    fitting = _fitting(target, options)
    if fitting < len(target.invoice_ids):
        return _too_many(provider, target, fitting)
    ids = Ids()
    numbers = [invoice.number for invoice in options.invoices]
    receivable = provider.capabilities.direction is Direction.RECEIVABLE
    verb = "Get a payment link for" if receivable else "Pay"
    title = f"{verb} {numbers[0]}" if len(numbers) == 1 else f"{verb} {len(numbers)} invoices"
    blocks: list[Block] = [header(ids, title)]
    for invoice in options.invoices:
        description = (
            f" — {inline(invoice.description, DESCRIPTION_CHARS)}" if invoice.description else ""
        )
        # whose link it is, before it is copied and sent to them
        customer = (
            f" · customer *{inline(invoice.payer, NUMBER_CHARS)}*"
            if receivable and invoice.payer
            else ""
        )
        blocks.append(
            section(
                ids,
                f"*{inline(invoice.number, NUMBER_CHARS)}*{customer}{description}\n"
                f"{invoice.amount_due.format()}{left_of(invoice)} · {status_words(invoice, today)}",
            )
        )
    notes = []
    if netted := options_sum(options):
        blocks.append(section(ids, f":receipt: Credit taken off: {netted}"))
    if options.account_credit is not None and not options.account_credit.is_zero():
        notes.append(f"Account credit: {options.account_credit.format()}")
    blocks.append(section(ids, f"*Total: {options.total.format()}* at {escape(provider.title)}"))
    if notes:
        blocks.append(context(ids, *notes))
    methods = [_carried(m) for m in options.methods]
    selectable = [m for m in methods if m.selectable]
    unavailable = [m for m in methods if not m.selectable]
    if not selectable:
        blocks.append(
            section(ids, ":no_entry: The provider allows no payment method for this right now.")
        )
    method = next((m for m in methods if m.id == target.method_id), None)
    if method is not None and not method.selectable:
        method = None
    controls: list[dict[str, Any]] = []
    if selectable:
        controls.append(
            select(
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
            select(
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
                        f"Charge *{options.total.format()}*{f' ({netted})' if netted else ''} "
                        f"to *{escape(label)}* now for "
                        f"{_invoice_word(numbers)}? This cannot be undone.",
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
                        _link_question(options, receivable, netted, _invoice_word(numbers), label),
                        "Get link",
                    ),
                )
            )
    controls.append(button("Back to the list", values.BACK, target.encode()))
    blocks.append(actions(ids, controls, name=f"pay:{target.encode()}"))
    if unavailable:
        reasons = "\n".join(
            f"• {inline(m.name, NUMBER_CHARS)}: {inline(m.reason or 'not available', REASON_CHARS)}"
            for m in unavailable[:8]
        )
        blocks.append(context(ids, f"Not available now:\n{reasons}"))
    return {"text": f"{escape(title)}: {options.total.format()}", "blocks": blocks}


def payment_link(
    payment: Payment,
    pay_url: str,
    provider: Provider,
    lifetime: float,
    customer: str | None = None,
    clicker: str | None = None,
) -> dict[str, Any]:
    """A link to pay; a customer's invoice says so as Copy payment link does (see
    `customer_link`), whichever way it was reached."""
    if provider.capabilities.direction is Direction.RECEIVABLE:
        return customer_link(payment, pay_url, lifetime, customer, clicker)
    ids = Ids()
    invoices = _invoice_word(payment.invoice_numbers)
    lead = f"{amount_of(payment)} for {invoices} with *{method_of(payment)}*."
    return {
        "text": f"Payment link for {invoices}: {pay_url}",
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
                f"{link_lifetime(lifetime)} The billing channel hears as soon as the payment "
                "lands.",
            ),
        ],
    }


def customer_link(
    payment: Payment,
    pay_url: str,
    lifetime: float,
    customer: str | None,
    clicker: str | None = None,
) -> dict[str, Any]:
    """A customer's payment link: whose it is, for what, and the link. An
    invoice has one live link: someone else's is shown again, and says so, so that the
    customer is not sent it twice."""
    ids = Ids()
    numbers = ", ".join(inline(number, NUMBER_CHARS) for number in payment.invoice_numbers)
    name = inline(customer, NUMBER_CHARS) if customer else ""
    who = f" *{name}*" if name else ""
    lead = (
        f"Payment link for the customer{who}: *{payment.amount.format()}* for invoice "
        f"{numbers}. Send them this link:\n{pay_url}"
    )
    whose = f" for {name}" if name else ""
    first = (
        f" <@{payment.user_id}> copied this link first: the customer may have it."
        if clicker and payment.user_id != clicker
        else ""
    )
    return {
        "text": f"Payment link for invoice {numbers}{whose}: {pay_url}",
        "blocks": [
            section(ids, lead),
            actions(
                ids,
                [button("Open payment page", values.OPEN_LINK, payment.id, url=pay_url)],
            ),
            context(
                ids,
                f"{link_lifetime(lifetime)} The billing channel hears as soon as the customer "
                f"pays.{first}",
            ),
        ],
    }


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def already_paid(payment: Payment, chosen: Sequence[str] = ()) -> dict[str, Any]:
    """A Pay button on an invoice invoicebot saw paid: what the payer's message says.
    `chosen`: the invoice ids clicked; those the payment did not cover are counted, so a
    stale selection's other invoices are not taken for paid with it."""
    ids = Ids()
    shown = settled(payment)["text"]
    if payment.direction != Direction.RECEIVABLE.value:
        shown = f"{shown} Paid through invoicebot by <@{payment.user_id}>."
    if others := len(set(chosen) - set(payment.invoice_ids)):
        one = others == 1
        which = "The other invoice you chose was" if one else f"The other {others} were"
        where = "it stands" if one else "they stand"
        shown = f"{shown}\n{which} not in that payment: *Back to the list* shows where {where}."
    back = actions(ids, [button("Back to the list", values.BACK)], name="paid")
    return {"text": shown, "blocks": [section(ids, shown), back]}


def reopened_notice(
    payment: Payment, reopened: dict[str, date], provider_title: str
) -> dict[str, Any]:
    """Pay on invoices paid with invoicebot that the provider lists open again (a
    chargeback, a reversed payment; `reopened`: by id, the day each was paid here). No
    second payment is taken through the bot, which cannot tell that money came back:
    its payer is told what is known and to check at the provider first."""
    ids = Ids()
    named = payment.only(reopened) or payment
    one = len(named.invoice_numbers) == 1
    title = escape(provider_title)
    days = " and ".join(day(when) for when in sorted(set(reopened.values())))
    who = f" by <@{payment.user_id}>" if payment.direction != Direction.RECEIVABLE.value else ""
    it, its = ("it", "its") if one else ("them", "their")
    text = (
        f":warning: {invoices_of(named)} {'was' if one else 'were'} paid with invoicebot{who} "
        f"on {days}, and {title} lists {it} open again (after a chargeback or a reversed "
        f"payment, perhaps). Check {its} payments at {title} before paying {it} again. "
        f"invoicebot takes no second payment of an invoice it saw paid: if {it} "
        f"{'is' if one else 'are'} due again, pay at {title}."
    )
    back = actions(ids, [button("Back to the list", values.BACK)], name="paid")
    return {"text": text, "blocks": [section(ids, text), back]}


def live_link(
    payment: Payment,
    viewer: str,
    expires_at: float,
    url: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Instead of a pay menu whose start would be refused: the link that is already out,
    until when, and, to whoever holds it, the link itself (`url`) and, while its page is
    unopened, a way to cancel it. `note` (mrkdwn) says why the link itself is not given."""
    ids = Ids()
    invoices = invoices_of(payment)
    until = moment(datetime.fromtimestamp(expires_at, UTC))
    what = f"{amount_of(payment)} by {method_of(payment)}"
    mine = payment.user_id == viewer
    holder = "You have" if mine else f"<@{payment.user_id}> has"
    text = f":link: {holder} a payment link for {invoices[:1].lower()}{invoices[1:]}: {what}."
    controls: list[dict[str, Any]] = []
    reopen = url if mine else None
    if reopen:
        controls.append(button("Open payment page", values.OPEN_LINK, payment.id, url=reopen))
    if payment.state is PaymentState.OPENED:
        text += (
            f" Its page was opened at the provider, which may be taking the money now, so it "
            f"stands until it expires ({until}). Nothing else can be started before then."
        )
        if reopen:
            text += (
                " If you closed the page before paying, open it again here; if you paid, do "
                "not pay again: the billing channel hears when the payment lands."
            )
    elif mine:
        text += (
            f" It works until {until}; its page was never opened. "
            + ("Open it to pay, or cancel it" if reopen else "Cancel it")
            + " to choose another way to pay."
        )
        controls.append(
            button(
                "Cancel that link",
                values.CANCEL_LINK,
                payment.id,
                style="danger",
                confirm=confirm_dialog(
                    "Cancel the payment link?",
                    "The link stops working and nothing is paid through it. You can then "
                    "choose how to pay again.",
                    "Cancel link",
                    deny="Keep it",
                    danger=True,
                ),
            )
        )
    else:
        text += (
            f" It works until {until}. A new payment can start when it expires, or sooner "
            f"if <@{payment.user_id}> cancels it."
        )
    if note:
        text += f" {note}"
    controls.append(button("Back to the list", values.BACK))
    return {"text": text, "blocks": [section(ids, text), actions(ids, controls, name="link")]}


def invoices_of(payment: Payment) -> str:
    """ "Invoice INV-1" or "Invoices INV-1 (€10.00) and INV-2 (€5.00)", escaped."""
    if len(payment.invoice_numbers) == 1:
        return f"Invoice {inline(payment.invoice_numbers[0], NUMBER_CHARS)}"
    if len(payment.lines) == len(payment.invoice_numbers):
        named = [
            f"{inline(line.number, NUMBER_CHARS)} ({line.amount.format()})"
            for line in payment.lines
        ]
    else:
        named = [inline(number, NUMBER_CHARS) for number in payment.invoice_numbers]
    return f"Invoices {_and(named)}"


def _is_are(payment: Payment) -> str:
    return "is" if len(payment.invoice_numbers) == 1 else "are"


def credit_sum(gross: list[Money], credits: list[tuple[str, Money]], total: Money) -> str | None:
    """ "€363.00 − credit CRN-24-0003 €24.20 = €338.80", when credit notes are netted off."""  # noqa: RUF002
    if not credits or not gross:
        return None
    before = Money.total(gross, total.currency)
    taken = " ".join(
        f"− credit {inline(number, NUMBER_CHARS)} {amount.format()}" for number, amount in credits
    )
    try:
        used = before - total
        adds_up = before - Money.total([amount for _, amount in credits], total.currency) == total
    except (TypeError, ValueError):  # a credit in another currency: shown as the provider gave it
        return f"{before.format()} {taken} = {total.format()}"
    if adds_up or not used > Money.zero(total.currency):
        return f"{before.format()} {taken} = {total.format()}"
    # Only part of the credit is taken off (a credit note worth more than the bill): the
    # line says how much, or it would not add up to what is charged.
    notes = ", ".join(
        f"{inline(number, NUMBER_CHARS)} {amount.format()}" for number, amount in credits
    )
    word = "credit" if len(credits) == 1 else "credit notes"
    return f"{before.format()} − {used.format()} of {word} {notes} = {total.format()}"


def options_sum(options: PaymentOptions) -> str | None:
    """The pay menu's credit line, also kept with a request to approve the payment."""
    return credit_sum(
        [invoice.amount_due for invoice in options.invoices],
        [(c.number, c.credit_value) for c in options.credits_settled],
        options.total,
    )


def payment_sum(payment: Payment) -> str | None:
    return credit_sum(
        [line.amount for line in payment.lines],
        [(credit.number, credit.amount) for credit in payment.credits],
        payment.amount,
    )


def amount_of(payment: Payment) -> str:
    """The total as a finance person checks it: with the credit notes taken off, and
    "in all" when several invoices are paid at once."""
    netted = payment_sum(payment)
    if netted:
        return f"*{payment.amount.format()}* ({netted})"
    in_all = " in all" if len(payment.invoice_numbers) > 1 else ""
    return f"*{payment.amount.format()}*{in_all}"


def method_of(payment: Payment) -> str:
    """The method (and bank) as the provider named them, on one line and cut."""
    issuer = f" ({payment.issuer_name})" if payment.issuer_name else ""
    return inline(f"{payment.method_name}{issuer}", NUMBER_CHARS)


def _reason(payment: Payment) -> str:
    """The provider's reason without its final stop: "Card declined: insufficient funds"."""
    return escape(without_protocol(payment.last_error or "").strip().rstrip("."))


def try_again(payment: Payment) -> dict[str, Any]:
    """Starts afresh through the same path as Pay: a new offer, the once-only checks."""
    target = values.PayTarget(payment.provider, payment.invoice_ids).encode()
    receivable = payment.direction == Direction.RECEIVABLE.value
    if receivable:  # the customer pays: what the team does again is hand out a link
        return button("Copy a new payment link", values.COPY_LINK, target, style="primary")
    return button("Try again", values.PAY, target, style="primary")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def settled(payment: Payment, *, paid_by: Payment | None = None) -> dict[str, Any]:
    """What the payment's message becomes once it is settled: no link left to click; after
    a failure, only a button that starts a fresh attempt."""
    ids = Ids()
    invoices = invoices_of(payment)
    reason = _reason(payment)
    retry = False
    if payment.state is PaymentState.PAID:
        when = moment(payment.paid_at) if payment.paid_at else "just now"
        text = (
            f":white_check_mark: {invoices} {_is_are(payment)} paid: {amount_of(payment)} "
            f"by {method_of(payment)}, {when}."
        )
    elif payment.state is PaymentState.SUPERSEDED and payment.paid_at:
        text = (
            f":warning: {amount_of(payment)} was charged again through this link by "
            f"{method_of(payment)}, after {invoices} had been recorded paid through another "
            "payment. The billing channel has been told, to check it and refund a second "
            "payment."
        )
    elif payment.state is PaymentState.SUPERSEDED and (
        split := still_unpaid(payment, paid_by.invoice_ids if paid_by else None)
    ):
        # Another payment settled only some of these invoices (A+B paid, this was B+C):
        # this link cannot be used any more, and the rest still needs paying.
        paid, left = split
        who = f" by <@{paid_by.user_id}>" if paid_by else ""
        text = (
            f"{_capital(_invoice_word(paid))} {'has' if len(paid) == 1 else 'have'} been paid "
            f"through another payment{who}, so this link can no longer be used; nothing was "
            f"charged through it. {_capital(_invoice_word(left))} "
            f"{'is' if len(left) == 1 else 'are'} still unpaid: pay "
            f"{'it' if len(left) == 1 else 'them'} from the invoice list."
        )
    elif payment.state is PaymentState.SUPERSEDED:
        who = f" by <@{paid_by.user_id}>" if paid_by else ""
        text = (
            f"{invoices} {'has' if _is_are(payment) == 'is' else 'have'} been paid through "
            f"another payment{who}. "
            "This link is no longer needed; nothing was charged through it."
        )
    elif payment.state in WATCHABLE and paid_by is not None and paid_by.id != payment.id:
        # An end still being checked (a charge read as declined, a cancel only the browser
        # reported) that another payment's settlement stops checking: its payer was told
        # they would hear, and the money's fate through it stays unknown.
        text = (
            f"{invoices} {'has' if _is_are(payment) == 'is' else 'have'} been paid through "
            f"another payment by <@{paid_by.user_id}>, so invoicebot no longer checks whether "
            f"{amount_of(payment)} by {method_of(payment)} was taken through this one. If "
            "the statement shows it was, ask in the billing channel for a refund."
        )
    elif payment.state is PaymentState.FAILED and payment.next_check_at is not None:
        # Read from the invoice, not from this charge (its answer was lost): the error
        # may be an earlier attempt's, so it is not told as this charge's decline.
        text = (
            f":warning: The invoice still shows unpaid, and its last payment error says: "
            f"{reason or 'no reason given'}. That may be from an earlier attempt, so "
            f"invoicebot keeps checking whether {inline(payment.method_name, NUMBER_CHARS)} "
            f"was charged and tells you if it was.\n{invoices}, {payment.amount.format()}. "
            "Check the card's statement before you pay again."
        )
        retry = True
    elif payment.state is PaymentState.FAILED and payment.unconfirmed_end:
        # As above, once the watch is over: never confirmed either way.
        text = (
            f":warning: Payment not confirmed: the invoice showed unpaid, and its last "
            f"payment error said: {reason or 'no reason given'}. That may have been from an "
            f"earlier attempt.\n{invoices}, {payment.amount.format()}. Check the card's "
            "statement before you pay again."
        )
        retry = True
    elif payment.state is PaymentState.FAILED:
        text = f":x: Payment failed: {reason or 'the provider gave no reason'}."
        text += f"\n{invoices}, {payment.amount.format()}."
        if not payment.charges_at_once or "not charged" in reason.lower():
            if "nothing was charged" not in reason.lower():
                text += " Nothing was charged."
            text += " You can try again."
            retry = True
    elif payment.state is PaymentState.CANCELLED and payment.next_check_at is not None:
        # Only the browser said so: the provider's page can still take the money after
        # its Back or Cancel button, so nothing is promised about the card.
        text = (
            f":heavy_minus_sign: Payment cancelled: the payment page was left without "
            f"paying.\n{invoices}, {payment.amount.format()}. If it was paid there after "
            "all, invoicebot tells you here. You can try again."
        )
        retry = True
    elif payment.state is PaymentState.CANCELLED and payment.unconfirmed_end:
        text = (
            f":heavy_minus_sign: Payment cancelled: the payment page was left without "
            f"paying.\n{invoices}, {payment.amount.format()}. You can try again."
        )
        retry = True
    elif payment.state is PaymentState.CANCELLED:
        text = (
            f":heavy_minus_sign: Payment cancelled: nothing was charged.\n"
            f"{invoices}, {payment.amount.format()}. You can try again."
        )
        retry = True
    elif payment.state in (PaymentState.LINK_ISSUED, PaymentState.OPENED):
        text = (
            f":hourglass: {inline(payment.method_name, NUMBER_CHARS)} was charged for "
            f"{invoices[:1].lower()}{invoices[1:]}; "
            "waiting for the provider to confirm it. This message changes when it does."
        )
    elif payment.state is PaymentState.UNKNOWN:
        # What cut the answer short, in plain words, without "try again": not to pay again.
        lost = without_retry(without_protocol(payment.last_error or "")).strip().rstrip(".")
        why = f"{escape(lost)}. " if lost else ""
        text = (
            f":hourglass: {why}The outcome of the payment of {invoices[:1].lower()}"
            f"{invoices[1:]} is not known yet. invoicebot is checking with the provider and "
            "will tell you here (later, in your messages with invoicebot). Do not pay again."
        )
    elif payment.state is PaymentState.EXPIRED and (
        payment.charges_at_once
        or (payment.could_have_taken_money and not isinstance(payment.start, Emailed))
    ):  # a charge, or a page its payer reached: money may have moved
        text = (
            f":warning: The provider never confirmed the payment of "
            f"{invoices[:1].lower()}{invoices[1:]} "
            f"({reason}). Check the invoice at the provider before paying again."
        )
    else:
        ended = "has expired" if payment.state is PaymentState.EXPIRED else "was not started"
        text = f"The payment of {invoices[:1].lower()}{invoices[1:]} {ended}."
        if reason:
            text += f" {capitalized(reason)}."
        retry = payment.state is PaymentState.EXPIRED
    blocks: list[Block] = [section(ids, text)]
    if retry:
        blocks.append(actions(ids, [try_again(payment)], name="again"))
    return {"text": text, "blocks": blocks}


EMAILED_METHOD = "the e-mailed invoice"
"""How a customer paid an invoice the provider e-mailed: the provider does not say with
what, and "e-mail" is no way to pay."""


def paid_how(payment: Payment) -> str:
    """The method a settled payment was made with, as the records state it."""
    return EMAILED_METHOD if isinstance(payment.start, Emailed) else method_of(payment)


def _sent_by(payment: Payment) -> str:
    """Who handed the customer the way to pay: a link, or the invoice by e-mail."""
    if isinstance(payment.start, Emailed):
        return f"Invoice e-mailed to the customer by <@{payment.user_id}>"
    return f"Payment link sent by <@{payment.user_id}>"


def _who_paid(payment: Payment) -> str:
    if payment.direction == Direction.RECEIVABLE.value:
        return inline(payment.payer_name, NUMBER_CHARS) if payment.payer_name else "The customer"
    return f"<@{payment.user_id}>"


def _invoices_at(payment: Payment, provider_title: str) -> str:
    """ "i3D.net invoice INV-1" or "i3D.net invoices INV-1 (€1.00) and INV-2 (€2.00)"."""
    invoices = invoices_of(payment)
    return f"{escape(provider_title)} {invoices[:1].lower()}{invoices[1:]}"


def _reference(payment: Payment) -> str:
    """The provider's reference, quoted within a line: on that line (`one_line`)."""
    if payment.receipt or payment.provider_reference:
        return one_line(payment.receipt or payment.provider_reference or "")
    return f"invoicebot {payment.settlement_id or payment.id}"


def confirmation(payment: Payment, provider_title: str) -> dict[str, Any]:
    """The billing channel's record: one line of who paid what and how much, then the
    method (with the bank), the provider's reference, the date and any credit applied."""
    ids = Ids()
    when = moment(payment.paid_at) if payment.paid_at else "now"
    receivable = payment.direction == Direction.RECEIVABLE.value
    icon = ":moneybag:" if receivable else ":white_check_mark:"
    lead = (
        f"{icon} {_who_paid(payment)} paid {_invoices_at(payment, provider_title)}: "
        f"{amount_of(payment)}"
    )
    pairs = [("Method", paid_how(payment)), ("Reference", _reference(payment)), ("Date", when)]
    if payment.credits:
        applied = ", ".join(
            f"{inline(credit.number, NUMBER_CHARS)} ({credit.amount.format()})"
            for credit in payment.credits
        )
        pairs.append(("Credit applied", applied))
    # Each field is clipped to Slack's 2,000 characters: one over it loses the whole record.
    blocks: list[Block] = [section(ids, lead), fields(ids, pairs)]
    if payment.last_error:  # a paid one's: what to act on beside it (the provider's note)
        blocks.append(section(ids, f":warning: {escape(without_protocol(payment.last_error))}"))
    if receivable:
        blocks.append(context(ids, _sent_by(payment)))
    return {
        "text": (
            f"Paid: {escape(provider_title)} {_invoice_word(payment.invoice_numbers)}, "
            f"{payment.amount.format()} by {paid_how(payment)}"
        ),
        "blocks": blocks,
    }


def paid_twice_notice(
    payment: Payment, provider_title: str, *, certain: bool = True
) -> dict[str, Any]:
    """A second payment for invoices already paid: who reads this refunds it, or, where
    the first was only the invoice's word, checks first."""
    ids = Ids()
    receivable = payment.direction == Direction.RECEIVABLE.value
    who = "the customer" if receivable else f"<@{payment.user_id}>"
    paid = (
        f"{who} paid {payment.amount.format()} again by {paid_how(payment)} "
        f"(reference {_reference(payment)})"
    )
    where = escape(provider_title)
    invoices = _invoices_at(payment, provider_title)
    if payment.state is PaymentState.PAID:  # credited on the invoice's word, then charged
        text = (
            f":warning: Maybe paid twice: {invoices} "
            f"{'were' if len(payment.invoice_ids) > 1 else 'was'} recorded paid on {where}'s "
            f"word that it is paid before this payment's own charge came in, and {paid}. "
            f"Check at {where} whether this is a second payment before refunding it."
        )
    elif certain:
        text = (
            f":warning: Paid twice: {invoices} had already been paid, and {paid}. Refund this "
            f"second payment at {where}."
        )
    else:
        text = (
            f":warning: Maybe paid twice: {invoices} "
            f"{'were' if len(payment.invoice_ids) > 1 else 'was'} recorded paid through "
            f"another payment on {where}'s word that it is paid, and {paid}. Check at "
            f"{where} whether this is a second payment before refunding it."
        )
    detail = _sent_by(payment) if receivable else f"Started by <@{payment.user_id}>"
    return {"text": text, "blocks": [section(ids, text), context(ids, detail)]}


def emailed_in_doubt(payment: Payment, provider_title: str) -> str:
    """An e-mail send a stop cut short, told to whoever sent it."""
    invoices = invoices_of(payment)
    return (
        f":warning: invoicebot does not know whether {invoices[:1].lower()}{invoices[1:]} "
        f"went out by e-mail: it stopped while {escape(provider_title)} was sending it. "
        f"Check at {escape(provider_title)} before you send it again, so the customer does "
        "not get it twice. The billing channel still hears when the customer pays."
    )


def link_cut_short(payment: Payment, provider_title: str) -> str:
    """A link's start a stop cut short, told to whoever asked for it when no message of
    theirs can be replaced (a customer's link comes below the list)."""
    invoices = invoices_of(payment)
    return (
        f":warning: invoicebot stopped while asking {escape(provider_title)} for a payment "
        f"link for {invoices[:1].lower()}{invoices[1:]}, so no link was made and nothing "
        "can be paid through it. Ask for the link again."
    )


def return_unanswered_notice(
    payment: Payment, provider_title: str, *, settled: bool
) -> dict[str, Any]:
    """A return to an ended attempt's page that its provider never answered about: the
    page may have taken money after the attempt ended, and no one else will say so.
    `settled`: all its invoices are settled (by it, through another attempt, or on their
    word); a superseded attempt may have one still open."""
    ids = Ids()
    title = escape(provider_title)
    what = f"{_invoices_at(payment, provider_title)} ({payment.amount.format()})"
    if settled:
        # The invoice is settled: what that page may have taken is a second payment.
        text = (
            f":warning: Possible second payment not confirmed: {what}. The invoice is "
            f"settled, and someone came back from this payment's page afterwards; {title} "
            "could not be asked about it for a day, so invoicebot has stopped asking. Look "
            f"at the invoice's payments at {title} for a second charge to refund."
        )
    else:
        text = (
            f":warning: Payment not confirmed: {what}. Someone came back from its payment "
            f"page after the payment had ended, and {title} could not be asked about it for "
            f"a day, so invoicebot has stopped asking. Look at the invoice and its payments "
            f"at {title} before anyone pays it again."
        )
    detail = f"Started by <@{payment.user_id}> with {method_of(payment)}"
    if payment.direction == Direction.RECEIVABLE.value:
        detail = f"Link sent by <@{payment.user_id}>"
        if payment.payer_name:
            customer = inline(payment.payer_name, NUMBER_CHARS)
            detail = f"Customer: {customer} · link sent by <@{payment.user_id}>"
    return {"text": text, "blocks": [section(ids, text), context(ids, detail)]}


def failure_notice(payment: Payment, provider_title: str) -> dict[str, Any]:
    """The billing channel hears that a payment did not go through, and why; or that a
    card charge was never confirmed either way."""
    ids = Ids()
    what = f"{_invoices_at(payment, provider_title)} ({payment.amount.format()})"
    if payment.state is PaymentState.CANCELLED and payment.next_check_at is not None:
        text = (  # the payer's browser said so, not the provider: see `settled`
            f":heavy_minus_sign: Payment cancelled: {what}. The payment page was left "
            "without paying; invoicebot keeps checking for a while and posts here if it "
            "was paid after all."
        )
    elif payment.state is PaymentState.CANCELLED:
        text = f":heavy_minus_sign: Payment cancelled: {what}. Nothing was charged."
    elif payment.state is PaymentState.EXPIRED and payment.charges_at_once:
        title = escape(provider_title)  # a charge given up on, see the notifier
        text = (
            f":warning: Card charge never confirmed: {what}. {title} did not say whether the "
            "card was charged, and invoicebot has stopped checking. Look at the invoice at "
            f"{title} and at the card's statement before anyone pays it again."
        )
    elif payment.state is PaymentState.EXPIRED:  # its page was opened, never confirmed
        title = escape(provider_title)
        again = (
            "anyone sends the customer a new link"
            if payment.direction == Direction.RECEIVABLE.value
            else "anyone pays it again"
        )
        text = (
            f":warning: Payment never confirmed: {what}. Its payment page was opened, but "
            f"{title} never said whether it was paid, and invoicebot has stopped checking. "
            f"Look at the invoice and its payments at {title} before {again}."
        )
    elif payment.next_check_at is not None:
        # Read from the invoice, not from this payment: as its payer is told, it may
        # still have gone through, so it is not announced as failed.
        text = (
            f":warning: Payment not confirmed: {what}. The invoice still shows unpaid, and "
            f"its last payment error says: {_reason(payment) or 'no reason given'}. That may "
            "be from an earlier attempt, so invoicebot keeps checking and posts here if "
            "this payment went through."
        )
    else:
        text = f":x: Payment failed: {what}: {_reason(payment) or 'no reason given'}."
    if payment.direction == Direction.RECEIVABLE.value:
        sent = "invoice e-mailed" if isinstance(payment.start, Emailed) else "link sent"
        detail = f"{sent.capitalize()} by <@{payment.user_id}>"
        if payment.payer_name:
            customer = inline(payment.payer_name, NUMBER_CHARS)
            detail = f"Customer: {customer} · {sent} by <@{payment.user_id}>"
        if payment.state is PaymentState.EXPIRED:  # the customer may have paid: check first
            return {"text": text, "blocks": [section(ids, text), context(ids, detail)]}
        # The link the customer holds is spent: whoever reads this can send a fresh one.
        target = values.PayTarget(payment.provider, tuple(payment.invoice_ids)).encode()
        fresh = button("Copy a new payment link", values.COPY_LINK, target)
        blocks = [section(ids, text), context(ids, detail), actions(ids, [fresh], name="again")]
        return {"text": text, "blocks": blocks}
    detail = f"Started by <@{payment.user_id}> with {method_of(payment)}"
    return {"text": text, "blocks": [section(ids, text), context(ids, detail)]}
