"""The invoice list: overdue first, one section per invoice, paged within Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bot.access import GROUPS_UNREAD, WHO_MAY_PAY
from bot.invoices import Gathered, Listing, Side
from bot.models import Invoice, InvoiceStatus
from bot.provider import Direction, Provider
from bot.reminding import can_remind
from bot.selection import Page
from bot.slack import values
from bot.slack.blocks.kit import (
    DESCRIPTION_CHARS,
    NUMBER_CHARS,
    OPTION_TEXT,
    Block,
    Ids,
    actions,
    button,
    clip,
    context,
    day,
    divider,
    escape,
    header,
    inline,
    option,
    section,
)
from bot.slack.subcommands import ListInvoices
from bot.text import plain

OPEN_INVOICES = ListInvoices()
PAGE_SIZE = 10  # 10 invoices stay far below 50 blocks with headers, errors and controls


def placeholder(titles: list[str]) -> dict[str, Any]:
    names = ", ".join(titles) if titles else "your providers"
    text = f":hourglass_flowing_sand: Fetching invoices from {names}…"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


NO_DUE_DATE = "no due date"
"""An invoice without one, as its list line and the new-invoice review both say."""


def status_words(invoice: Invoice, today: date, settled: date | None = None) -> str:
    """ "due 2026-12-30", ":red_circle: overdue 3 days (due …)" or "paid …": the list's and
    the pay menu's words for where an invoice stands. `settled` with an open invoice: the
    provider lists open again one paid here that day (a chargeback, a reversed payment)."""
    words = _standing(invoice, today, settled)
    if settled is not None and invoice.status is InvoiceStatus.OPEN:
        # "since it was paid" would read as the cause; the day is when it was paid here
        words += f" · :warning: open again, though paid with invoicebot on {day(settled)}"
    return words


def _standing(invoice: Invoice, today: date, settled: date | None) -> str:
    if invoice.is_overdue(today):
        days = (today - invoice.due).days if invoice.due else 0
        return f":red_circle: overdue {days} day{'s' if days != 1 else ''} (due {day(invoice.due)})"
    due = f"due {day(invoice.due)}" if invoice.due else NO_DUE_DATE
    if invoice.status is InvoiceStatus.OPEN:
        return due
    if invoice.status is InvoiceStatus.DRAFT:
        return f"draft · {due}"  # what it will say once sent
    if invoice.status is InvoiceStatus.PAID:
        # `settled`: the day in the workspace's zone (see `settled_on`), when known
        when = settled or (invoice.paid_at.date() if invoice.paid_at else None)
        return f":white_check_mark: paid {day(when)}" if when else ":white_check_mark: paid"
    return invoice.status.value


def left_of(invoice: Invoice) -> str:
    """ " left of €363.00" where what is due is only part of the invoice's total (paid in
    part, or credit applied at the provider), else "": the supplier's own invoice says
    €363.00, and a bare €121.00 beside its number reads as a different bill."""
    due, total = invoice.amount_due, invoice.total_incl_vat
    if (
        invoice.is_credit
        or invoice.status is not InvoiceStatus.OPEN
        or due.amount <= 0
        or due.currency != total.currency
        or due.amount >= total.amount
    ):
        return ""
    return f" left of {total.format()}"


def _credit_line(invoice: Invoice, provider_title: str) -> str:
    """A credit note is money owed to the team: shown negative, never due, never paid."""
    value, of = invoice.credit_value, ""
    if invoice.status is InvoiceStatus.OPEN:
        use = f"taken off when you pay {escape(provider_title)}"
        total = invoice.total_incl_vat
        whole = -total if total.amount < 0 else total
        if whole.currency == value.currency and whole.amount > value.amount:
            of = f" left of −{whole.format()}"  # used in part: as `left_of` says of a bill
    elif invoice.status is InvoiceStatus.PAID:
        use = "used"
    else:
        use = invoice.status.value
    return f"*−{value.format()}* credit{of} · {use}"


def invoice_line(
    invoice: Invoice, provider_title: str, today: date, settled: date | None = None
) -> str:
    """`settled`: the day it was paid in the workspace's zone, if known."""
    amount = invoice.amount_due if invoice.status is InvoiceStatus.OPEN else invoice.total_incl_vat
    credit = " · credit note" if invoice.is_credit else ""
    who = f" · {inline(invoice.payer, NUMBER_CHARS)}" if invoice.payer else ""
    description = (
        f"\n{inline(invoice.description, DESCRIPTION_CHARS)}" if invoice.description else ""
    )
    status = (
        _credit_line(invoice, provider_title)
        if invoice.is_credit
        else f"*{amount.format()}*{left_of(invoice)} · {status_words(invoice, today, settled)}"
    )
    number = inline(invoice.number, NUMBER_CHARS)
    return f"*{number}* · {escape(provider_title)}{who}{credit}{description}\n{status}"


def invoice_blocks(
    ids: Ids,
    invoice: Invoice,
    provider: Provider,
    today: date,
    can_pay: bool,
    settled: date | None = None,
    doubt: str | None = None,
) -> list[Block]:
    """Payables get **Pay**; receivables (the customer pays) get a link to send, or e-mail;
    people who may not pay see the invoice without controls. `doubt`: why a charge not
    confirmed either way may have paid it (invoicebot's own mrkdwn), said on its row."""
    line = invoice_line(invoice, provider.title, today, settled)
    if doubt:
        line += f"\n:hourglass: {doubt}"
    receivable = provider.capabilities.direction is Direction.RECEIVABLE
    if can_pay and not receivable and invoice.issuable:
        return [section(ids, f"{line}\n{not_issued(provider.title)}")]
    if can_pay and not values.carries(invoice.id) and (invoice.payable or invoice.issuable):
        return [section(ids, f"{line}\n{unbuttoned(provider.title)}")]
    if receivable and invoice.issuable and can_pay and provider.capabilities.send_by_email:
        # Sending a draft issues it: the one way a draft saved in Slack goes out.
        target = values.PayTarget(provider.name, (invoice.id,)).encode()
        send = button("Send by e-mail", values.SEND_EMAIL, target)
        return [section(ids, line), actions(ids, [send], name="customer")]
    if invoice.issuable:
        return [section(ids, f"{line}\n{unsent(provider, receivable)}")]
    if invoice.status is InvoiceStatus.DRAFT:
        return [section(ids, f"{line}\n{unissuable(invoice, provider, receivable)}")]
    if not invoice.payable or not can_pay:
        return [section(ids, line)]
    target = values.PayTarget(provider.name, (invoice.id,)).encode()
    if not receivable:
        return [section(ids, line, button("Pay", values.PAY, target, style="primary"))]
    controls = [button("Copy payment link", values.COPY_LINK, target)]
    if provider.capabilities.send_by_email:
        controls.append(button("Send by e-mail", values.SEND_EMAIL, target))
    if invoice.is_overdue(today) and can_remind(provider):
        controls.append(button("Send reminder", values.REMIND, target))
    return [section(ids, line), actions(ids, controls, name="customer")]


ANSWERED_IN_MESSAGES = (
    (values.PAY, "Pay"),
    (values.COPY_LINK, "Copy payment link"),
    (values.REMIND, "Send reminder"),
)
"""Buttons whose answer comes in the clicker's messages with the app (Send by e-mail
opens a dialog instead), in the order a note names them."""


def answered_note(blocks: Sequence[Block]) -> str | None:
    """ "*Pay* and *Send reminder* answer in your messages with invoicebot.": naming the
    buttons `blocks` show, and only those, as they read (approvals relabel **Pay**
    **Request approval** or **View request**; None: none of them shows)."""
    shown: dict[str, list[str]] = {}
    for block in blocks:
        for element in [block.get("accessory") or {}, *block.get("elements", [])]:
            if "action_id" not in element:
                continue
            label = str((element.get("text") or {}).get("text", ""))
            labels = shown.setdefault(str(element.get("action_id")), [])
            if label and label not in labels:
                labels.append(label)
    names = [
        f"*{label}*"
        for action, name in ANSWERED_IN_MESSAGES
        if action in shown
        for label in shown[action] or [name]
    ]
    if not names:
        return None
    said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    verb = "answers" if len(names) == 1 else "answer"
    return f"{said} {verb} in your messages with invoicebot."


def not_issued(title: str) -> str:
    """Why a supplier's draft has no **Pay**: only the supplier can issue it, and until
    then there is nothing to pay."""
    return f"_Not issued yet: it can be paid here once {escape(title)} issues it._"


def unpayable_said(named: str, invoice: Invoice, provider: Provider) -> str:
    """`/invoices pay` on an invoice not open (`named`: its number, ready for mrkdwn): a
    draft is told what it waits for, as the drafts list tells it."""
    if invoice.status is not InvoiceStatus.DRAFT:
        return f"Invoice {named} cannot be paid: it is {invoice.status.value}."
    if provider.capabilities.direction is Direction.RECEIVABLE:
        return (
            f"Invoice {named} is a draft, not sent to the customer yet: `/invoices drafts` "
            "lists it."
        )
    return (
        f"Invoice {named} is a draft: it can be paid here once {escape(provider.title)} issues it."
    )


def unsent(provider: Provider, receivable: bool) -> str:
    """Why a draft has no button where `not_issued` and **Send by e-mail** do not apply:
    the provider cannot send a customer's draft from here, or the person may not pay."""
    title = escape(provider.title)
    if receivable and not provider.capabilities.send_by_email:
        return f"_Not sent yet: {title} cannot send it from here; use its own site._"
    if receivable:
        return "_Not sent yet: only payers can send it to the customer._"
    return f"_A draft: {title} has not sent it yet._"


def unissuable(invoice: Invoice, provider: Provider, receivable: bool) -> str:
    """Why a draft that sending cannot issue has no button, whoever looks: a credit
    note, or a draft with nothing to pay."""
    title = escape(provider.title)
    if invoice.is_credit and receivable:
        return f"_A draft credit note: it is not issued from here; use {title}'s own site._"
    if invoice.is_credit:
        return f"_Not issued yet: once {title} issues it, it is taken off when you pay them._"
    if receivable:
        return f"_A draft with nothing to pay: it is not sent from here; use {title}'s own site._"
    return f"_A draft with nothing to pay, not issued yet by {title}._"


def unbuttoned(title: str) -> str:
    """Why an invoice has no buttons: its id is not one a Slack button can carry."""
    return (
        f"_{escape(title)} gives this invoice an id that Slack's buttons cannot carry, so "
        f"it cannot be acted on here: use {escape(title)}'s own site._"
    )


def failure_line(title: str, said: str) -> str:
    """`*i3D.net*: <what happened>`, without naming the provider twice."""
    if said.startswith(title):
        return f"*{escape(title)}*{escape(said[len(title) :])}"
    return f"*{escape(title)}*: {escape(said)}"


def summary_of(
    page: Page,
    answered: list[str],
    failed: int,
    listed: ListInvoices = OPEN_INVOICES,
    *,
    unread: bool = False,
) -> str:
    """ "11 invoices and 1 credit note · To pay €484.00 + $1,955.27 (2 overdue) · To
    collect CA$160.25 · from …": money leaving and money coming in are never added
    together, and a credit note is not counted as a bill. `listed` is what was asked
    for, so that nothing is said of invoices it did not look for; where no provider
    answered, nothing is counted. `unread`: some invoices could not be read, and any of
    them may be open."""
    if failed and not answered:
        return "no provider answered"
    bills, credits = page.total - page.credit_notes, page.credit_notes
    counted = [f"{bills} invoice{'s' if bills != 1 else ''}"] if bills or not credits else []
    if credits:
        counted.append(f"{credits} credit note{'s' if credits != 1 else ''}")
    parts = [" and ".join(counted)]
    sides = (("To pay", page.to_pay), ("To collect", page.to_collect))
    for label, totals in sides:
        if totals.count or totals.credits:
            # In an overdue list every invoice is overdue: saying so again is noise.
            marked = totals.overdue and not listed.overdue_only
            late = f" ({totals.overdue_words()})" if marked else ""
            parts.append(f"{label} {totals.format()}{late}")
    if not any(totals.count or totals.credits for _, totals in sides) and not (failed or unread):
        parts += _nothing_to_pay(page, listed)
    source = f"from {', '.join(answered)}" if answered else "no provider answered"
    if failed and answered:
        others = "1 other provider" if failed == 1 else f"{failed} other providers"
        source += f" ({others} did not answer; not counted)"
    parts.append(source)
    return " · ".join(parts)


def _nothing_to_pay(page: Page, listed: ListInvoices) -> list[str]:
    """What a summary with no money to pay or collect says of open invoices: only what
    the listing looked at. Paid invoices are not "none of them open", and no overdue
    or no match is not "nothing open"."""
    looked_at_open = not listed.statuses or InvoiceStatus.OPEN in listed.statuses
    if not looked_at_open:
        return []
    if page.total:
        return ["none of them open"]
    if listed.overdue_only:
        return ["nothing overdue"]
    return [] if listed.text else ["nothing open"]


def _tick_label(invoice: Invoice) -> str:
    """ "INV-1 · €10.00" in a checkbox's 75 characters: a long number is cut, never the
    amount people tick it for."""
    amount = invoice.amount_due.format()
    number = " ".join(invoice.number.split())
    return f"{clip(number, OPTION_TEXT - len(amount) - 3)} · {amount}"


def _several(ids: Ids, provider: Provider, page: list[Invoice]) -> list[Block]:
    """Checkboxes to pay several invoices together, where the provider can: one group per
    currency, since one payment is in one currency."""
    payable = [
        i for i in page if i.payable and i.provider == provider.name and values.carries(i.id)
    ]
    if not provider.capabilities.pay_several:
        return []
    currencies = sorted({i.currency for i in payable})
    blocks: list[Block] = []
    for currency in currencies:
        group = [i for i in payable if i.currency == currency]
        if len(group) < 2:
            continue
        checkboxes = {
            "type": "checkboxes",
            "action_id": values.SELECT_INVOICES,
            "options": [option(_tick_label(i), i.id) for i in group[:10]],
        }
        label = f"Pay selected {provider.title} invoices"
        lead = f"Pay several {escape(provider.title)} invoices at once"
        if len(currencies) > 1:
            label += f" ({currency})"
            lead += f" ({currency}; one payment is in one currency)"
        blocks += [
            context(ids, f"{lead}:"),
            actions(
                ids,
                [checkboxes, button(label, values.PAY_SELECTED, provider.name)],
                name=f"several.{provider.name}.{currency}",
            ),
        ]
    return blocks


def invoice_list(
    title: str,
    gathered: Gathered,
    *,
    request_text: str,
    today: date,
    can_pay: bool | None = True,
    settled_on: Mapping[tuple[str, str], date] | None = None,
    searched: str | None = None,
    listed: ListInvoices = OPEN_INVOICES,
    in_doubt: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """The message for the page `gathered` holds, with buttons to the pages either side;
    Pay, payment-link and e-mail controls only for someone who `can_pay` (None: not known
    just now, `bot.access.Access.may_pay_shown`); `searched` is
    the text searched for, if any; `listed`, what was asked for; `in_doubt`, by
    (provider, invoice id), why a charge may have paid it (see `invoice_blocks`)."""
    ids = Ids()
    listings, page = gathered.listings, gathered.page
    providers = {listing.provider.name: listing.provider for listing in listings}
    answered = [escape(listing.provider.title) for listing in listings if listing.error is None]
    failed = sum(1 for listing in listings if listing.error is not None)
    unread = any(listing.unreadable for listing in listings)
    summary = summary_of(page, answered, failed, listed, unread=unread)
    known = read_in_full(listings)
    blocks: list[Block] = [header(ids, title), context(ids, summary)]
    for listing in listings:
        if listing.error:
            blocks.append(
                section(
                    ids,
                    f":warning: {failure_line(listing.provider.title, plain(listing.error))}",
                )
            )
        elif listing.unreadable:
            blocks.append(section(ids, unreadable_line(listing)))
    if not providers:
        blocks.append(
            section(
                ids,
                "No provider is connected yet. An admin can run `/invoices connect <provider>`.",
            )
        )
    elif not page.total and failed:
        if answered:  # where none did, the warnings above say all there is
            blocks.append(
                section(
                    ids,
                    "No invoices from the providers that answered; the others may still have some.",
                )
            )
    elif not page.total and searched:
        matches = f"No invoice matches “{escape(searched)}”"
        blocks.append(section(ids, nothing_known(matches, *known) or f"{matches}."))
    elif not page.total:
        # Nothing left to pay is good news; no paid, void or draft invoices is just none.
        owed = not listed.statuses or InvoiceStatus.OPEN in listed.statuses
        none = "Nothing here. :tada:" if owed else "None here."
        blocks.append(section(ids, nothing_known("Nothing", *known) or none))
    for invoice in page.invoices:
        key = (invoice.provider, invoice.id)
        settled, doubt = (settled_on or {}).get(key), (in_doubt or {}).get(key)
        blocks += invoice_blocks(
            ids, invoice, providers[invoice.provider], today, can_pay is True, settled, doubt
        )
    if can_pay:
        for provider in providers.values():
            blocks.extend(_several(ids, provider, page.invoices))
    elif any(invoice.payable for invoice in page.invoices):
        blocks.append(context(ids, WHO_MAY_PAY if can_pay is False else GROUPS_UNREAD))
    if page.before or page.after:
        blocks += [
            divider(ids),
            context(ids, f"Page {page.before // PAGE_SIZE + 1} of {-(-page.total // PAGE_SIZE)}"),
            actions(ids, _page_buttons(gathered, request_text), name="pages"),
        ]
    return {"text": f"{escape(title)}: {summary}", "blocks": blocks}


def _page_buttons(gathered: Gathered, request_text: str) -> list[dict[str, Any]]:
    """Previous goes before the first invoice shown, Next after the last one."""
    page = gathered.page
    nav = []
    if page.before:
        number = max(0, page.before - PAGE_SIZE) // PAGE_SIZE + 1
        previous = values.PageRequest(request_text, Side.BEFORE, page.first_key, number)
        nav.append(button("Previous", values.PAGE_PREVIOUS, previous.encode()))
    if page.after:
        number = (page.before + len(page.invoices)) // PAGE_SIZE + 1
        following = values.PageRequest(request_text, Side.AFTER, page.last_key, number)
        nav.append(button("Next", values.PAGE_NEXT, following.encode()))
    return nav


def notice(text: str) -> dict[str, Any]:
    """A one-paragraph message: refusals, errors, confirmations of small things."""
    ids = Ids()
    return {"text": text, "blocks": [section(ids, text)]}


NAMED_PROVIDERS = 5
"""Providers named in a line that says what could not be read; more are counted (they
are third-party plugins, and their warnings above name each)."""


def _names(titles: Sequence[str]) -> str:
    """ "i3D.net, PingProxies and Payfirma" """
    if len(titles) > NAMED_PROVIDERS:
        return f"{len(titles)} providers"
    names = [inline(title, NUMBER_CHARS) for title in titles]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def nothing_known(
    nothing: str, read: Sequence[str], failed: Sequence[str], partly: Sequence[str] = ()
) -> str | None:
    """ "Nothing overdue at i3D.net; PingProxies could not be read.": an empty part said
    only of the providers `read` in full, since one that `failed`, or sent invoices that
    could not be read (`partly`), may have some. None: every provider was read in full,
    and the caller's own sentence holds."""
    unknown = not_read(failed, partly)
    if not unknown:
        return None
    if read:
        return f"{nothing} at {_names(read)}; {unknown}."
    return f"{unknown[0].upper()}{unknown[1:]}." if not failed else f"{unknown}."


def not_read(failed: Sequence[str], partly: Sequence[str] = ()) -> str:
    """ "PingProxies could not be read; some invoices at Payfirma could not be read", or
    "" when every provider was read in full. Many providers are counted, not named."""
    missing = [f"{_names(failed)} could not be read"] if failed else []
    if partly:
        missing.append(f"some invoices at {_names(partly)} could not be read")
    return "; ".join(missing)


def read_in_full(listings: Sequence[Listing]) -> tuple[list[str], list[str], list[str]]:
    """The titles of the providers read in full, of those that failed, and of those that
    sent invoices that could not be read, for `nothing_known`."""
    read = [one.provider.title for one in listings if not one.error and not one.unreadable]
    failed = [one.provider.title for one in listings if one.error]
    partly = [one.provider.title for one in listings if not one.error and one.unreadable]
    return read, failed, partly


def unreadable_line(listing: Listing) -> str:
    """One line for the invoices a provider sent that could not be read."""
    count = len(listing.unreadable)
    named = [label for label in listing.unreadable if label][:5]
    shown = ", ".join(inline(label, NUMBER_CHARS) for label in named)
    which = f" ({shown}{', …' if count > len(named) and named else ''})"
    return (
        f":warning: *{escape(listing.provider.title)}*: {count} invoice"
        f"{'s' if count != 1 else ''}{which if named else ''} could not be read and "
        f"{'are' if count != 1 else 'is'} not shown; any others it sent were read. Look "
        f"{'them' if count != 1 else 'it'} up at {escape(listing.provider.title)}."
    )


def help_message(lines: Sequence[tuple[str, str]], problem: str | None = None) -> dict[str, Any]:
    ids = Ids()
    body = "\n".join(f"`{command}` — {meaning}" for command, meaning in lines)
    blocks: list[Block] = []
    if problem:
        blocks.append(section(ids, f":warning: {problem}"))
    blocks += [
        section(ids, f"*invoicebot* lists and pays invoices from your providers.\n{body}"),
        context(
            ids,
            "*To pay* sums what your team owes its suppliers; *To collect* sums what your "
            "customers owe your team. Each is per currency, overdue invoices first.",
        ),
    ]
    text = (
        (problem + " " if problem else "")
        + "invoicebot commands: "
        + ", ".join(c for c, _ in lines)
    )
    return {"text": text, "blocks": blocks}
