"""`/invoices new <provider>`: a form for an invoice, then a review with exact totals.

Nothing is created until the person has seen subtotal, tax and total and confirmed;
the review carries the draft (no secrets) in its private metadata.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import CREATE_REFUSAL
from bot.kit.errors import without_retry
from bot.lost_creates import WATCHED
from bot.models import EMAIL_CHARS, Invoice, InvoiceDraft, InvoiceLine, Money, is_email
from bot.money import AmountError, minor_units, parse_amount, thousands_mark
from bot.provider import (
    Capabilities,
    CreatedDifferently,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unconfirmed,
)
from bot.slack import dialogs, values
from bot.slack.blocks.kit import day, escape, md, option, plain, select
from bot.slack.blocks.listing import NO_DUE_DATE
from bot.slack.connect import result_view
from bot.slack.errors import said, shielded
from bot.slack.services import Services
from bot.store import Outcome
from bot.text import log_error, one_line, shown

ITEMS = 3
SETTLED_POLL = 0.25  # seconds between looks at a running submit's outcome, for a repeat


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {"action_id": "value", **element},
    }


def _text(placeholder: str | None = None, initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input"}
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    if initial:
        element["initial_value"] = initial
    return element


TITLE_CHARS = 150
"""A title is a heading, and the review and its metadata stay within Slack's limits."""


def _typed(number: Decimal) -> str:
    """A number as a person would type it back: 3, 12.50, 0.25."""
    return f"{number:f}"


def new_invoice_modal(
    cls: type[Provider], draft: InvoiceDraft | None = None, send: bool = True
) -> dict[str, Any]:
    """The empty form, or (`draft`) the form as it was typed, to edit after a review."""
    currencies = cls.capabilities.invoice_currencies
    currency = draft.currency if draft and draft.currency in currencies else currencies[0]
    email: dict[str, Any] = {"type": "email_text_input"}
    if draft:
        email["initial_value"] = draft.customer_email
    due: dict[str, Any] = {"type": "datepicker"}
    if draft and draft.due:
        due["initial_date"] = str(draft.due)
    blocks = [
        _input(
            "customer_name",
            "Customer",
            _text("Name or company", draft.customer_name if draft else None),
        ),
        _input("customer_email", "Customer's e-mail", email),
        _input(
            "currency",
            "Currency",
            select("value", "Choose a currency", [(c, c) for c in currencies], currency),
        ),
        _input("due", "Due date", due, optional=True),
        _input(
            "title",
            "Title",
            {**_text(None, draft.title if draft else None), "max_length": TITLE_CHARS},
            optional=True,
        ),
    ]
    lines = draft.lines if draft else ()
    for n in range(1, ITEMS + 1):
        optional = n > 1
        line = lines[n - 1] if n <= len(lines) else None
        tax = _typed(line.tax_percent) if line and line.tax_percent else None
        blocks += [
            _input(
                f"item{n}_description",
                f"Item {n}",
                _text("What was sold", line.description if line else None),
                optional=optional,
            ),
            _input(
                f"item{n}_quantity",
                f"Item {n}: quantity",
                _text("1", _typed(line.quantity) if line else None),
                optional=True,  # blank is 1, as the hint shows
            ),
            _input(
                f"item{n}_price",
                f"Item {n}: unit price",
                _text("10.00", _typed(line.unit_price.amount) if line else None),
                optional=optional,
            ),
            _input(f"item{n}_tax", f"Item {n}: tax %", _text("0", tax), optional=True),
        ]
    now = option("E-mail it to the customer now", "send")
    later = option("Save it as a draft", "draft")
    blocks.append(
        _input(
            "mode",
            "When it is created",
            {
                "type": "radio_buttons",
                "options": [now, later],
                "initial_option": now if send else later,
            },
        )
    )
    return {
        "type": "modal",
        "callback_id": values.NEW_INVOICE_VIEW,
        "private_metadata": json.dumps({"provider": cls.name}),
        "title": plain(f"New {cls.title} invoice", 24),
        "submit": plain("Review", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _state(view: dict[str, Any]) -> dict[str, str]:
    """What was typed, as the review shows it: control and bidirectional characters
    pasted in are dropped here, so the provider gets the text the person confirmed."""
    found: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        entry = actions.get("value", {})
        value = entry.get("value") or entry.get("selected_date")
        if value is None and entry.get("selected_option"):
            value = entry["selected_option"]["value"]
        if value not in (None, ""):
            found[block_id] = shown(str(value)).strip()
    return found


QUANTITY_PLACES = 2  # 1.5 hours, 0.25 days; more would print oddly on the invoice


OVERDUE_GRACE = timedelta(days=1)  # a person west of UTC may still be on yesterday
BLANK = {"quantity": "1", "tax": "0"}  # what an item's empty field means, as its hint shows


def _line(
    state: dict[str, str], n: int, currency: str, errors: dict[str, str]
) -> InvoiceLine | None:
    """Item `n` of the form, or None (blank, or its mistakes added to `errors`)."""
    fields = {part: state.get(f"item{n}_{part}") for part in ("quantity", "price", "tax")}
    description = state.get(f"item{n}_description")
    if not description:
        if any(fields.values()):
            errors[f"item{n}_description"] = f"Describe item {n}, or clear its other fields."
        return None
    places = minor_units(currency)
    readings: dict[str, Callable[[str], Decimal]] = {
        "quantity": lambda typed: parse_amount(
            typed, QUANTITY_PLACES, what="quantity", example="2"
        ),
        "price": lambda typed: parse_amount(
            typed, places, thousands=thousands_mark(currency), what="unit price"
        ),
        "tax": _percent,
    }
    read: dict[str, Decimal] = {}
    for part, reading in readings.items():
        try:
            read[part] = reading(fields[part] or BLANK.get(part, ""))
        except AmountError as error:
            errors[f"item{n}_{part}"] = str(error)
    if len(read) < len(readings):
        return None
    return InvoiceLine(
        description=description,
        quantity=read["quantity"],
        unit_price=Money.of(read["price"], currency),
        tax_percent=read["tax"],
    )


def _percent(typed: str) -> Decimal:
    tax = parse_amount(typed, 2, allow_zero=True, what="tax", example="13")
    if tax > 100:
        raise AmountError("Tax is a percentage from 0 to 100.")
    return tax


def parse_draft(
    view: dict[str, Any], currencies: tuple[str, ...] = Capabilities().invoice_currencies
) -> InvoiceDraft | dict[str, str]:
    """The draft, or Slack's `errors` (input block id → what to fix), every mistake at
    once so that one Review shows them all; `currencies`: those the provider takes."""
    state = _state(view)
    currency = state.get("currency", currencies[0])
    errors: dict[str, str] = {}
    if currency not in currencies:  # only a form Slack did not build; items still read
        *others, last = currencies
        errors["currency"] = (
            f"Choose {', '.join(others)} or {last}." if others else f"Choose {last}."
        )
        currency = currencies[0]
    numbered = {n: line for n in range(1, ITEMS + 1) if (line := _line(state, n, currency, errors))}
    lines = list(numbered.values())
    if not lines and not any(key.startswith("item") for key in errors):
        errors["item1_description"] = "Add at least one item."
    _within_largest_total(numbered, currency, errors)
    if not state.get("customer_name"):
        errors["customer_name"] = "Type the customer's name."
    email = state.get("customer_email", "")
    if len(email) > EMAIL_CHARS:
        errors["customer_email"] = f"An e-mail address has at most {EMAIL_CHARS} characters."
    elif not is_email(email):
        errors["customer_email"] = "Type the customer's e-mail address, like name@example.com."
    due = _due(state.get("due"), errors)
    if len(state.get("title", "")) > TITLE_CHARS:  # Slack holds the field to it, a forged form not
        errors["title"] = f"Shorten the title to {TITLE_CHARS} characters."
    if errors:
        return errors
    try:
        return InvoiceDraft(
            customer_name=state["customer_name"],
            customer_email=state["customer_email"],
            currency=currency,
            lines=tuple(lines),
            due=due,
            title=state.get("title", ""),
        )
    except ValidationError:  # only a form Slack did not build gets here
        return {"customer_name": "This form could not be read; open a new one."}


LARGEST_TOTAL = Decimal("999999999999.99")
"""The most an invoice made here may come to: twelve digits before the decimal point, as
every amount a person types, and what a Pay button's value can carry."""


def _within_largest_total(
    numbered: dict[int, InvoiceLine], currency: str, errors: dict[str, str]
) -> None:
    """Each field is held to twelve digits, but a quantity times a price can pass any
    bound: the item that weighs most is asked to come down."""
    if not numbered:
        return
    total = Money.total((line.amount + line.tax for line in numbered.values()), currency)
    if total.amount <= LARGEST_TOTAL:
        return
    n = max(numbered, key=lambda k: numbered[k].amount.amount)
    most = Money.of(LARGEST_TOTAL, currency).format()
    errors[f"item{n}_quantity"] = f"The invoice would come to {total.format()}; at most {most}."


def _due(typed: str | None, errors: dict[str, str]) -> date | None:
    if not typed:
        return None
    try:
        due = date.fromisoformat(typed)
    except ValueError:
        errors["due"] = "Choose a date from the calendar."
        return None
    if due < datetime.now(UTC).date() - OVERDUE_GRACE:
        errors["due"] = "That date has passed; choose today or later, or leave it empty."
    return due


def review_view(cls: type[Provider], draft: InvoiceDraft, send: bool) -> dict[str, Any]:
    rows = "\n".join(
        f"• {escape(line.description)}: {line.quantity:g} × {line.unit_price.format()}"
        f" = {line.amount.format()}"
        + (f" + {line.tax_percent:g}% tax {line.tax.format()}" if line.tax_percent else "")
        for line in draft.lines
    )
    to = f"e-mailed to {escape(draft.customer_email)}" if send else "saved as a draft (not sent)"
    due = f"due {day(draft.due)}" if draft.due else NO_DUE_DATE
    title = f"{one_line(draft.title)}\n" if draft.title else ""
    summary = f"{title}*{escape(draft.customer_name)}* · {escape(draft.customer_email)}\n{rows}"
    # A block of its own: however long the items, the totals are never cut off.
    totals = (
        f"Subtotal {draft.subtotal.format()} · Tax {draft.tax.format()}\n"
        f"*Total {draft.total.format()}* · {due}\n\n"
        f"It will be created at {escape(cls.title)} and {to}."
    )
    metadata = json.dumps(
        {
            "provider": cls.name,
            "send": send,
            # the reference is set at the submit, once per form: not carried, not trusted
            "draft": draft.model_dump(mode="json", exclude={"reference"}),
        }
    )
    return {
        "type": "modal",
        "callback_id": values.REVIEW_INVOICE_VIEW,
        "private_metadata": metadata,
        "title": plain("Check the invoice", 24),
        "submit": plain("Send invoice" if send else "Save draft", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {"type": "section", "block_id": "summary", "text": md(summary)},
            {"type": "section", "block_id": "totals", "text": md(totals)},
            {
                "type": "actions",
                "block_id": "edit",
                "elements": [
                    {
                        "type": "button",
                        "action_id": values.EDIT_INVOICE,
                        "text": plain("Edit", 75),
                        "value": "edit",
                    }
                ],
            },
        ],
    }


DESCRIPTIONS = tuple(f"item{n}_description" for n in range(1, ITEMS + 1))
TEXTS = ("customer_name", "customer_email", "title", *DESCRIPTIONS)
"""The fields of the form whose text the draft carries as typed."""


def _longest(view: dict[str, Any]) -> dict[str, str]:
    """The error for a draft too long to carry: on the field that takes up the most of
    it (as the metadata writes it: a non-Latin letter is six characters there)."""
    typed = _state(view)
    field = max(TEXTS, key=lambda block_id: len(json.dumps(typed.get(block_id, ""))))
    return {field: "Shorten this: with it, the invoice is too long to carry to the review."}


async def on_form(svc: Services, ack: AsyncAck, body: dict[str, Any]) -> None:
    view = body["view"]
    cls = svc.connections.registry.get(str(values.metadata(view).get("provider", "")))
    if cls is None:
        await ack(
            response_action="update",
            view=result_view("Not created", "That provider is not installed."),
        )
        return
    draft = parse_draft(view, cls.capabilities.invoice_currencies)
    if isinstance(draft, dict):
        await ack(response_action="errors", errors=draft)
        return
    send = _state(view).get("mode", "send") == "send"
    review = review_view(cls, draft, send)
    if len(review["private_metadata"]) > values.METADATA_CHARS:
        await ack(response_action="errors", errors=_longest(view))
        return
    # In place, not pushed: once the invoice exists, no live form waits under the
    # "created" view to be submitted a second time.
    await ack(response_action="update", view=review)


def _failure(error: ProviderError) -> tuple[Outcome, str]:
    """What a failed create did, as recorded and as the dialog's title says it. An
    unavailable provider may have acted before its answer was lost: not confirmed."""
    if isinstance(error, CreatedDifferently):
        return "created_differently", "Created: check it"
    if isinstance(error, ProviderUnavailable) and not isinstance(error, RateLimited):
        return "unknown", "Not confirmed"
    return "failed", "Not created"


def _maybe_created(provider: Provider) -> str:
    """After a create whose answer was lost: where to look before creating it again,
    since a second create would bill the customer twice (the list `submitted_before`
    points at too: a search by the customer's name can miss what the provider stored)."""
    return (
        f"{escape(provider.title)} may have created it all the same: look for it with "
        f"`/invoices {provider.name}` before you create it again."
    )


def _record(svc: Services, key: str, outcome: Outcome, number: str | None = None) -> None:
    """Keep what the submit did; a database fault here must not hide what the provider
    did from the person (the form then reads as unknown if submitted again)."""
    try:
        svc.store.settle_submission(key, outcome, number)
    except Exception as error:  # logged; the person still sees the result
        log_error(error, "recording what a new-invoice form did")


def _watch(
    svc: Services,
    key: str,
    team_id: str,
    user_id: str,
    provider: Provider,
    invoice: Invoice,
    to: str,
) -> None:
    """An invoice e-mailed as it was created is watched like one sent by e-mail, so
    #billing hears when the customer pays it; a database fault here must not hide
    from the person that it was created (its create stays looked for, `bot.lost_creates`,
    and is watched from there)."""
    try:
        with svc.store.claim():  # watched here or by the lookup, once
            if svc.store.end_lookup(key, WATCHED):
                svc.checkout.watch_emailed(
                    team_id=team_id, user_id=user_id, provider=provider.name, invoice=invoice, to=to
                )
    except Exception as error:  # logged; the person still sees the result
        log_error(error, "watching an invoice e-mailed as it was created")


def reference(key: str) -> str:
    """What the provider keeps with the invoice this form creates (`InvoiceDraft.reference`):
    one per form, so a create whose answer was lost can be found and not made again."""
    return "ib-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _looking(provider: Provider) -> str:
    return (
        f"invoicebot is looking for it at {escape(provider.title)}: if it finds it, it watches "
        "it and tells you; if not, #billing is asked to look for it."
    )


def submitted_before(provider: Provider, outcome: Outcome, number: str | None) -> dict[str, Any]:
    """A form submitted again (a double click, a replayed request, a retry after the bot
    restarted) creates nothing, and says what its first submit did."""
    title = escape(provider.title)
    again = f"`/invoices new {provider.name}`"
    made = f"invoice *{one_line(number)}*" if number else "its invoice"
    if outcome == "created":
        return result_view(
            "Already created",
            f"This form already created {made}, so nothing was created twice. "
            f"For another invoice, type {again} again.",
        )
    if outcome == "created_differently":
        return result_view(
            "Created: check it",
            f"This form already created {made}, but {title} computed different totals: "
            f"correct or void it at {title}. Nothing was created twice.",
        )
    if outcome == "failed":
        return result_view(
            "Not created",
            f"This form was submitted before and {title} did not create the invoice; "
            f"nothing was created this time either. To try again, type {again}.",
        )
    if outcome == "running":
        return result_view(
            "Creating…",
            f"This invoice is being created at {title} right now (the form was submitted "
            "twice; it is created once). This dialog shows the result when it comes.",
        )
    return result_view(
        "Submitted before",
        f"This form was submitted before, and invoicebot has not heard whether {title} "
        "created the invoice. Nothing was created this time. "
        f"Look for it in `/invoices {provider.name}` before creating it again.",
    )


async def _repeat(
    svc: Services, ack: AsyncAck, client: AsyncWebClient, view_id: str, key: str, p: Provider
) -> None:
    """Answer a repeat at once; while the first submit runs, wait for its outcome and
    show it, so this answer never stands over the first submit's result."""
    outcome, number = svc.store.submission_outcome(key)
    await ack(response_action="update", view=submitted_before(p, outcome, number))
    if outcome != "running":
        return
    while outcome == "running":
        await asyncio.sleep(SETTLED_POLL)
        outcome, number = svc.store.submission_outcome(key)
    shown = submitted_before(p, outcome, number)
    if outcome == "created":  # the first submit's own result, not a repeat's refusal
        made = f"Invoice *{one_line(number)}*" if number else "The invoice"
        shown = result_view(
            "Invoice created",
            f":white_check_mark: {made} was created at {escape(p.title)}, once: the form "
            "was submitted twice.",
        )
    await dialogs.update(client, view_id, shown)  # the first submit tells if it was closed


def _audit_created(
    svc: Services,
    body: dict[str, Any],
    provider: Provider,
    number: str,
    draft: InvoiceDraft,
    send: bool,
    **detail: Any,
) -> None:
    """Under the printed number, as `/invoices history <number>` looks it up."""
    svc.store.audit(
        "invoice.created",
        team_id=body["team"]["id"],
        user_id=body["user"]["id"],
        subject=number,
        provider=provider.name,
        total=draft.total.format(),
        sent=send,
        **detail,
    )


async def on_review(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view = body["view"]
    team_id, user_id = body["team"]["id"], body["user"]["id"]
    if not await svc.access.may_pay(team_id, user_id):
        await ack(response_action="update", view=result_view("Not created", CREATE_REFUSAL))
        return
    try:
        meta = values.metadata(view)
        draft = InvoiceDraft.model_validate(meta["draft"])
        provider = svc.connections.get(team_id, str(meta["provider"]))
    except (ValueError, KeyError, ValidationError, ProviderError) as error:
        reason = said(error) if isinstance(error, ProviderError) else "That dialog is out of date."
        await ack(response_action="update", view=result_view("Not created", reason))
        return
    send = bool(meta.get("send"))
    dialog = view.get("root_view_id") or view["id"]
    key = f"{values.REVIEW_INVOICE_VIEW}:{team_id}:{dialog}"
    draft = draft.model_copy(update={"reference": reference(key)})
    claimed = svc.store.claim_submission(
        key,
        team_id=team_id,
        user_id=user_id,
        provider=provider.name,
        watch=draft.model_dump_json() if send else None,  # a draft is not paid: not watched
    )
    if not claimed:
        await _repeat(svc, ack, client, view["id"], key, provider)
        return
    await ack(
        response_action="update",
        view=result_view("Creating…", f"Creating it at {escape(provider.title)}…"),
    )
    try:
        invoice = await provider.create_invoice(draft, send=send)
    except ProviderError as error:
        svc.snapshots.forget(provider.name)  # it may exist all the same
        outcome, title = _failure(error)
        number = error.number if isinstance(error, CreatedDifferently) else None
        _record(svc, key, outcome, number)
        if number is not None:
            _audit_created(svc, body, provider, number, draft, send, totals_differ=True)
        again = (
            "Nothing was created; correct the invoice and try again with "
            f"`/invoices new {provider.name}`."
        )
        text = said(error, refused_next=again)
        if outcome == "unknown":  # trying again could create it twice: look first
            text = without_retry(text)
            if not isinstance(error, Unconfirmed):
                text = f"{text} {_maybe_created(provider)}".lstrip()
            if send:
                text = f"{text} {_looking(provider)}"
        told = dialogs.Told(svc.store, team_id, user_id, f":warning: {title}: {text}")
        await dialogs.update(client, view["id"], result_view(title, f":warning: {text}"), tell=told)
        return
    _record(svc, key, "created", invoice.number)
    svc.snapshots.forget(provider.name)  # the next list shows it
    if send:
        _watch(svc, key, team_id, user_id, provider, invoice, draft.customer_email)
    _audit_created(svc, body, provider, invoice.number, draft, send, invoice_id=invoice.id)
    done = (
        f"e-mailed to {escape(draft.customer_email)}."
        if send
        else "saved as a draft. To send it, find it with `/invoices drafts` and choose "
        "Send by e-mail."
    )
    text = (
        f":white_check_mark: Invoice *{one_line(invoice.number)}* for "
        f"{invoice.total_incl_vat.format()} was created and {done}"
    )
    shown = result_view("Invoice created", text)
    await dialogs.update(
        client, view["id"], shown, tell=dialogs.Told(svc.store, team_id, user_id, text)
    )


async def on_edit(
    svc: Services, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    """Back from the review to the form, filled in as it was typed."""
    await ack()
    view = body.get("view") or {}
    try:
        meta = values.metadata(view)
        draft = InvoiceDraft.model_validate(meta["draft"])
        cls = svc.connections.provider_class(str(meta["provider"]))
    except (ValueError, KeyError, ValidationError, ProviderError):
        return
    form = new_invoice_modal(cls, draft, bool(meta.get("send")))
    await dialogs.update(client, view["id"], form, hash=view.get("hash"))


def register(app: AsyncApp, svc: Services) -> None:
    async def form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await on_form(svc, ack, body)

    async def review(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_review(svc, ack, body, client)

    async def edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await on_edit(svc, ack, body, client)

    app.view(values.NEW_INVOICE_VIEW)(shielded(form))
    app.action(values.EDIT_INVOICE)(shielded(edit))
    app.view(values.REVIEW_INVOICE_VIEW)(shielded(review))
