"""The create-invoice form: what a person types becomes an exact draft, or clear errors."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import AsyncMock

import aiohttp
import pytest
from pydantic import ValidationError

from bot.models import InvoiceDraft
from bot.money import CURRENCIES
from bot.provider import (
    Capabilities,
    CreatedDifferently,
    Direction,
    NoCredentials,
    PaymentRejected,
    ProviderUnavailable,
    RateLimited,
    Unconfirmed,
)
from bot.slack.new_invoice import (
    _failure,
    new_invoice_modal,
    on_review,
    parse_draft,
    review_view,
    submitted_before,
)
from bot.text import say
from plugins.payfirma.provider import PayfirmaProvider
from slack_emulator.blockkit import validate_view
from tests.plugin_files.acme_provider import AcmeProvider


class Receivable(AcmeProvider):
    name = "acmepay"
    title = "AcmePay"
    capabilities = Capabilities(direction=Direction.RECEIVABLE, create_invoices=True)


def submitted(**values: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for block, value in values.items():
        if block == "currency" or block == "mode":
            state[block] = {"value": {"type": "static_select", "selected_option": {"value": value}}}
        elif block == "due":
            state[block] = {"value": {"type": "datepicker", "selected_date": value}}
        else:
            state[block] = {"value": {"type": "plain_text_input", "value": value}}
    return {"state": {"values": state}}


def test_the_form_is_a_valid_slack_modal() -> None:
    view = new_invoice_modal(Receivable)
    assert validate_view(view) == []
    assert view["title"]["text"] == "New AcmePay invoice"


def test_the_form_offers_only_the_currencies_the_provider_issues_in() -> None:
    """Payfirma issues in CAD and USD: an invoice in euros was reviewed, confirmed and
    only then refused ("Try another card or method")."""
    (currency,) = [
        b for b in new_invoice_modal(PayfirmaProvider)["blocks"] if b["block_id"] == "currency"
    ]
    assert [o["value"] for o in currency["element"]["options"]] == ["CAD", "USD"]
    typed = {"customer_name": "N", "customer_email": "n@x.test", "item1_description": "x"}
    forged = submitted(**typed, currency="EUR", item1_price="1.000,50")
    assert parse_draft(forged, ("CAD", "USD")) == {"currency": "Choose CAD or USD."}
    assert parse_draft(forged, ("CAD",)) == {"currency": "Choose CAD."}
    draft = parse_draft(forged)
    assert isinstance(draft, InvoiceDraft) and draft.total.format() == "€1,000.50"
    assert Capabilities(invoice_currencies=("cad", "CAD", "usd")).invoice_currencies == (
        "CAD",
        "USD",
    )
    with pytest.raises(ValidationError, match="ZZZ is not a currency in ISO 4217"):
        Capabilities(invoice_currencies=("CAD", "ZZZ"))  # the form would offer it


def test_a_provider_issuing_in_more_currencies_than_a_menu_holds_gets_a_valid_form() -> None:
    """Slack's select holds 100 options: a provider issuing in 150 currencies (card
    processors take more than a hundred) had its form refused and no dialog opened."""
    codes = tuple(sorted(CURRENCIES))[:150]

    class ManyCurrencies(Receivable):
        capabilities = Capabilities(
            direction=Direction.RECEIVABLE, create_invoices=True, invoice_currencies=codes
        )

    view = new_invoice_modal(ManyCurrencies)
    assert validate_view(view) == []
    (currency,) = [b for b in view["blocks"] if b["block_id"] == "currency"]
    groups = currency["element"]["option_groups"]
    assert [o["value"] for g in groups for o in g["options"]] == list(codes)
    assert currency["element"]["initial_option"]["value"] == codes[0]


def test_typed_amounts_become_exact_totals() -> None:
    draft = parse_draft(
        submitted(
            customer_name="Northwind",
            customer_email="ap@northwind.test",
            currency="CAD",
            due="2026-12-31",
            item1_description="Consulting",
            item1_quantity="3",
            item1_price="10.99",
            item1_tax="13",
            item2_description="Hosting",
            item2_quantity="1",
            item2_price="0.10",
            item3_description="Setup",
            item3_quantity="2",
            item3_price="0.10",
        )
    )
    assert isinstance(draft, InvoiceDraft)
    assert str(draft.subtotal.amount) == "33.27"
    assert str(draft.tax.amount) == "4.29"  # 13% of 32.97 = 4.2861, rounded half up
    assert draft.total.format() == "CA$37.56"
    review = review_view(Receivable, draft, send=True)
    assert validate_view(review) == []
    text = review["blocks"][0]["text"]["text"] + review["blocks"][1]["text"]["text"]
    assert "*Total CA$37.56*" in text and "e-mailed to ap@northwind.test" in text


def test_mistakes_are_pointed_at_the_field() -> None:
    errors = parse_draft(
        submitted(
            customer_name="Northwind",
            customer_email="ap@northwind.test",
            currency="JPY",
            item1_description="Consulting",
            item1_quantity="0",
            item1_price="10",
            item2_description="Hosting",
            item2_quantity="1",
            item2_price="10.5",
            item3_description="Setup",
            item3_quantity="1",
            item3_price="3",
            item3_tax="150",
        ),
        ("JPY",),  # a provider that issues in yen
    )
    assert errors == {
        "item1_quantity": "The quantity must be more than 0.",
        "item2_price": "Type a whole number, like 12 (no decimals).",
        "item3_tax": "Tax is a percentage from 0 to 100.",
    }
    assert parse_draft(submitted(customer_name="N", customer_email="x@y.test", currency="CAD")) == {
        "item1_description": "Add at least one item."
    }
    bad_email = parse_draft(
        submitted(
            customer_name="N",
            customer_email="not-an-address",
            currency="CAD",
            item1_description="x",
            item1_quantity="1",
            item1_price="1",
        )
    )
    assert bad_email == {
        "customer_email": "Type the customer's e-mail address, like name@example.com."
    }


def test_an_address_longer_than_mail_carries_is_refused_on_its_field() -> None:
    typed = {"customer_name": "N", "item1_description": "x", "item1_price": "1"}
    long = "a" * 250 + "@x.test"  # 257 characters: RFC 5321 allows 254
    assert parse_draft(submitted(**typed, customer_email=long)) == {
        "customer_email": "An e-mail address has at most 254 characters."
    }
    assert isinstance(parse_draft(submitted(**typed, customer_email=long[7:])), InvoiceDraft)


def test_one_review_shows_every_mistake_at_once() -> None:
    """Nothing is dropped silently and no hint is pydantic's: a half-filled item, a past
    due date, every bad number in an item and a bad address, all in one answer."""
    errors = parse_draft(
        submitted(
            customer_email="accounts@riverside",
            currency="CAD",
            due="2020-01-01",
            item1_description="Shelving",
            item1_quantity="two",
            item1_price="$12.50",
            item1_tax="13%",
            item2_price="4.00",
        )
    )
    assert errors == {
        "customer_name": "Type the customer's name.",
        "customer_email": "Type the customer's e-mail address, like name@example.com.",
        "due": "That date has passed; choose today or later, or leave it empty.",
        "item1_quantity": "Type only the number, like 2.",
        "item1_price": "Type only the number, like 12.50.",
        "item1_tax": "Type only the number, like 13.",
        "item2_description": "Describe item 2, or clear its other fields.",
    }
    forged = submitted(customer_name="N", customer_email="n@x.test", due="soon")
    assert parse_draft(forged)["due"] == "Choose a date from the calendar."  # type: ignore[index]


def test_what_was_typed_is_kept_as_the_review_shows_it() -> None:
    """Control and bidirectional characters pasted in are dropped from the draft, as the
    review drops them: the provider gets only what the person saw and confirmed."""
    draft = parse_draft(
        submitted(
            customer_name="\u202eRiverside Books\u2066",
            customer_email="ap@riverside.test",
            item1_description="Shelving \u202e05.21\x07",
            item1_price="1",
            title="\x1b[31mMay",
        )
    )
    assert isinstance(draft, InvoiceDraft)
    assert (draft.customer_name, draft.title) == ("Riverside Books", "[31mMay")
    assert draft.lines[0].description == "Shelving 05.21"
    assert parse_draft(
        submitted(
            customer_name="\u202e",
            customer_email="a@b.test",
            item1_description="x",
            item1_price="1",
        )
    ) == {"customer_name": "Type the customer's name."}


def test_a_decimal_comma_is_read_as_one_and_negatives_are_refused() -> None:
    typed = {"customer_name": "N", "customer_email": "x@y.test", "currency": "CAD"}
    draft = parse_draft(
        submitted(**typed, item1_description="Books", item1_quantity="2", item1_price="12,50")
    )
    assert isinstance(draft, InvoiceDraft)
    assert draft.total.format() == "CA$25.00"  # not CA$2,500.00
    errors = parse_draft(
        submitted(
            **typed,
            item1_description="Refund",
            item1_quantity="1",
            item1_price="-5",
            item2_description="Nothing",
            item2_quantity="-1",
            item2_price="5",
            item3_description="Free",
            item3_quantity="1",
            item3_price="0",
        )
    )
    assert errors == {
        "item1_price": "The unit price must be more than 0.",
        "item2_quantity": "The quantity must be more than 0.",
        "item3_price": "The unit price must be more than 0.",
    }
    ambiguous = parse_draft(
        submitted(**typed, item1_description="x", item1_quantity="1", item1_price="12.505")
    )
    assert ambiguous == {
        "item1_price": "“12.505” has 3 decimals, and at most 2 are allowed, like 12.50; if you "
        "meant 12505, type it without a thousands separator."
    }


def test_a_failed_create_is_recorded_and_titled_as_what_it_did() -> None:
    """Only a refusal is "Not created": an answer lost may have created it, and totals
    the provider computed differently did create it."""
    assert _failure(PaymentRejected("Payfirma invoices are in CAD or USD only.")) == (
        "failed",
        "Not created",
    )
    assert _failure(RateLimited("Slow down.", 2.0)) == ("failed", "Not created")
    assert _failure(ProviderUnavailable("No answer.")) == ("unknown", "Not confirmed")
    assert _failure(CreatedDifferently("Other totals.", "212950")) == (
        "created_differently",
        "Created: check it",
    )


def test_an_invoice_created_with_other_totals_is_not_told_to_try_another_card() -> None:
    """It exists: its message says to correct or void it, and nothing more."""
    created = CreatedDifferently(
        "Payfirma computed different totals for new invoice 212960 (total CA$26.00 instead "
        "of CA$25.00). It was saved as a draft anyway: void it in PayHQ and check the lines "
        "and tax rates.",
        "212960",
    )
    said = say(created)
    assert said.endswith("void it in PayHQ and check the lines and tax rates.")
    assert say(created, refused_next="Correct the form.") == said


def test_a_repeat_says_what_the_first_submit_did_in_a_valid_modal() -> None:
    acme = Receivable(NoCredentials(), cast(aiohttp.ClientSession, None))
    said = {
        outcome: submitted_before(acme, outcome, "A-<7>")
        for outcome in ("created", "created_differently", "failed", "running", "unknown")
    }
    assert all(validate_view(view) == [] for view in said.values())
    text = {outcome: view["blocks"][0]["text"]["text"] for outcome, view in said.items()}
    assert "already created invoice *A-&lt;7&gt;*, so nothing was created twice" in text["created"]
    assert "computed different totals: correct or void it at AcmePay" in text["created_differently"]
    assert "AcmePay did not create the invoice" in text["failed"]
    assert "being created at AcmePay right now" in text["running"]
    assert "has not heard whether AcmePay created the invoice" in text["unknown"]
    assert "`/invoices acmepay`" in text["unknown"]


def test_a_blank_quantity_is_one_as_its_hint_shows() -> None:
    draft = parse_draft(
        submitted(
            customer_name="N", customer_email="n@x.test", item1_description="x", item1_price="5"
        )
    )
    assert isinstance(draft, InvoiceDraft) and draft.lines[0].quantity == 1
    quantity = next(
        b for b in new_invoice_modal(Receivable)["blocks"] if b["block_id"] == "item1_quantity"
    )
    assert quantity["optional"] is True


def test_a_long_title_is_refused_and_long_items_never_hide_the_total() -> None:
    """Slack holds the title field to 150 characters; a forged form is refused the same.
    However long the items, the totals come in a block of their own."""
    typed = {
        "customer_name": "Northwind",
        "customer_email": "ap@northwind.test",
        "item1_description": "Shelving",
        "item1_price": "10.00",
    }
    assert parse_draft(submitted(**typed, title="R&D " * 40)) == {
        "title": "Shorten the title to 150 characters."
    }
    long = {f"item{n}_description": "<&>" * 140 for n in range(1, 6)}  # 4x once escaped
    prices = {f"item{n}_price": "10.00" for n in range(1, 6)}
    draft = parse_draft(submitted(**{**typed, **long, **prices, "title": "R&D " * 37}))
    assert isinstance(draft, InvoiceDraft)
    review = review_view(Receivable, draft, send=True)
    assert validate_view(review) == []
    totals = next(b for b in review["blocks"] if b.get("block_id") == "totals")
    assert "*Total CA$30.00*" in totals["text"]["text"]
    title = next(b for b in new_invoice_modal(Receivable)["blocks"] if b.get("block_id") == "title")
    assert title["element"]["max_length"] == 150


def test_a_total_beyond_twelve_digits_is_refused_on_the_item_that_weighs_most() -> None:
    """Each field holds twelve digits, but a quantity times a price did not: a
    CA$1.1e24 invoice was created, which no Pay button could carry."""
    typed = {"customer_name": "N", "customer_email": "ap@x.test", "currency": "CAD"}
    huge = {"item1_description": "a", "item1_price": "10", "item2_description": "b"}
    errors = parse_draft(
        submitted(**typed, **huge, item2_quantity="999999999999.99", item2_price="999999999999.99")
    )
    assert isinstance(errors, dict) and list(errors) == ["item2_quantity"]
    assert errors["item2_quantity"].startswith("The invoice would come to CA$999,999,999,999,9")
    assert errors["item2_quantity"].endswith("; at most CA$999,999,999,999.99.")
    at_most = submitted(**typed, item1_description="a", item1_price="999999999999.99")
    assert parse_draft(at_most).total.amount == Decimal("999999999999.99")  # type: ignore[union-attr]


class LostAnswer(Receivable):
    """Its create's answer never comes back, so the invoice may exist."""

    error: ProviderUnavailable = ProviderUnavailable(
        "AcmePay did not answer within 10 s; try again in a few minutes."
    )

    async def create_invoice(self, draft: InvoiceDraft, *, send: bool) -> Any:
        raise self.error


class LostAnswerSaidByThePlugin(LostAnswer):
    error = Unconfirmed(
        "AcmePay did not answer within 10 s. The invoice may have been created; check "
        "AcmePay's invoices before trying again."
    )


@pytest.mark.parametrize("cls", [LostAnswer, LostAnswerSaidByThePlugin])
async def test_a_create_whose_answer_was_lost_says_to_look_for_it_before_another(
    cls: type[LostAnswer],
) -> None:
    """A second create bills the customer twice: after a lost answer the person is told
    where to look first, once, whether the plugin says it or the core does."""
    draft = parse_draft(
        submitted(
            customer_name="Riverside <Books>",
            customer_email="ap@riverside.test",
            item1_description="Shelving",
            item1_price="12.50",
        )
    )
    assert isinstance(draft, InvoiceDraft)
    provider = cls(NoCredentials(), cast(aiohttp.ClientSession, None))
    view = {**review_view(cls, draft, True), "id": "V0REVIEW"}
    svc = SimpleNamespace(
        access=SimpleNamespace(may_pay=AsyncMock(return_value=True)),
        connections=SimpleNamespace(get=lambda team, name: provider),
        store=SimpleNamespace(
            claim_submission=lambda key, **who: True, settle_submission=lambda *args: None
        ),
        snapshots=SimpleNamespace(forget=lambda name: None),
    )
    client = AsyncMock()
    body = {"view": view, "team": {"id": "T0TEAM"}, "user": {"id": "U0PAYER"}}
    await on_review(cast(Any, svc), AsyncMock(), body, client)
    shown = client.views_update.call_args.kwargs["view"]
    assert validate_view(shown) == []
    text = shown["blocks"][0]["text"]["text"]
    assert "Not confirmed" in str(shown["title"])
    assert "AcmePay did not answer within 10 s." in text
    assert "try again in a few minutes" not in text.lower()  # it may exist: look first
    looking = (
        " invoicebot is looking for it at AcmePay: if it finds it, it watches it and tells "
        "you; if not, #billing is asked to look for it."
    )
    assert text.endswith(looking)  # e-mailed as created: the customer may pay it
    text = text.removesuffix(looking)
    if cls is LostAnswer:
        assert text.endswith(
            "AcmePay may have created it all the same: look for it with "
            "`/invoices acmepay` before you create it again."
        )
    else:
        assert text.endswith("check AcmePay's invoices before trying again.")
        assert "all the same" not in text


def test_every_dialog_field_error_is_a_sentence_with_its_full_stop() -> None:
    """Slack shows these under the fields; the field-error helper and the approval
    settings end theirs with a full stop, and so does every other dialog."""
    from bot.slack.approvals_settings import policy_from
    from bot.slack.blocks.approval_settings import Draft
    from bot.slack.connect import CODE_NEEDED
    from bot.slack.customers import BAD_ADDRESS
    from bot.slack.new_invoice import _longest

    said = list(
        parse_draft(  # type: ignore[union-attr]
            submitted(
                customer_email="x" * 300,
                currency="EUR",
                due="soon",
                title="t" * 200,
                item1_description="Shelving",
                item1_quantity="1.5.5",
                item1_price="1,2345",
                item1_tax="130",
                item2_price="4.00",
                item3_description="Desk",
                item3_quantity="0",
                item3_price="12.505",
                item4_description="Chair",
                item4_price="1,23,4",
                item5_description="Lamp",
                item5_price="9999999999999",
            ),
            ("CAD", "USD"),
        ).values()
    )
    said += parse_draft(submitted(currency="CAD")).values()  # type: ignore[union-attr]
    said += parse_draft(
        submitted(
            customer_name="N",
            customer_email="n@x.test",
            due="2020-01-01",
            item1_description="x",
            item1_quantity="999999999",
            item1_price="999999999",
        )
    ).values()  # type: ignore[union-attr]
    said += _longest(submitted(customer_name="N")).values()
    said += [BAD_ADDRESS, CODE_NEEDED]
    policy = policy_from([Draft(key=0, currency="EUR", start="-1", needed=1, users=("U1",))], "1")
    assert isinstance(policy, dict)
    said += policy.values()
    assert len(said) > 15
    assert [s for s in said if not s.endswith(".")] == []
