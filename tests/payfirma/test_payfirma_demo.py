"""Payfirma in `invoicebot demo`: its sandbox is offered, connected, and a customer pays
through the local Slack, the bot's pay link, the sandbox's card page and the landing."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from bot.demo import Demo, DemoOptions, start_demo
from bot.history import story
from bot.plugins import make_plugin_manager, sandboxes
from bot.provider import NotPayable, ProviderError
from bot.slack.new_invoice import SETTLED_POLL
from bot.web import SERVICES, STORE
from plugins.payfirma.provider import PayfirmaProvider
from plugins.payfirma.sandbox import SANDBOX
from plugins.payfirma.sandbox.state import Email
from slack_emulator import EMULATOR, Message, payloads
from slack_emulator.client import Emulator
from slack_emulator.elements import UserActionError
from slack_emulator.modals import OpenView
from tests.e2e.conftest import BILLING, Person, button_value, everything_in, url_of
from tests.payfirma.conftest import CardPage
from tests.scenario.conftest import free_port


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with AsyncExitStack() as stack:
        options = DemoOptions(port=free_port(), data_dir=tmp_path / "demo")
        yield await start_demo(stack, options, make_plugin_manager(allowed={"payfirma"}))


@pytest.fixture
def person(demo: Demo) -> Callable[[str], Person]:
    return lambda user: Person(demo.slack[EMULATOR], user)


async def pay_by_card(pay_url: str) -> tuple[str, str]:
    """The customer's browser: the bot's link, Payfirma's page, Pay; (landing URL, page)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(pay_url) as answer:
            hpp = str(answer.url)
            page = CardPage(await answer.text())
        data = {**page.fields, "action": "pay"}
        async with browser.post(urljoin(hpp, page.action), data=data) as landing:
            return str(landing.url), await landing.text()


async def drafted(pat: Person, slack: Emulator, total: str = "CA$25.00", **typed: str) -> OpenView:
    """`/invoices new payfirma`, filled in for a draft (by default of CA$25.00, a decimal
    comma typed; `typed` overrides fields): the review showing `total`."""
    await pat.types("new payfirma")
    await slack.wait_until(lambda: slack.modal("U0PAYER"))
    fields = {
        "customer_name": "Riverside Books",
        "customer_email": "accounts@riverside.example",
        "currency": "CAD",
        "item1_description": "Shelving install",
        "item1_quantity": "2",
        "item1_price": "12,50",
        "mode": "draft",
        **typed,
    }
    await slack.submit_view(
        "U0PAYER", values={name: {"value": value} for name, value in fields.items()}
    )
    return await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and f"Total {total}" in str(m.definition) and m
    )


async def soon(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for what the local Slack does not see change (the sandbox's own state)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the sandbox's state has no event to await
            await asyncio.sleep(0.01)


def replayable(slack: Emulator, review: OpenView) -> dict[str, Any]:
    """The submission of `review` as Slack sends it, to send again as a retry would."""
    return payloads.view_submission(
        slack.workspace,
        "U0PAYER",
        slack.view_api(review, inputs_only=True),
        slack.surfaces.issue_trigger("U0PAYER"),
    )


def demo_idle(demo: Demo) -> bool:
    """Every Slack call the bot queued has been made (or given up)."""
    return not demo.bot[STORE].due_outbox(float("inf"))


def test_the_sandbox_is_offered_to_the_demo() -> None:
    offered = sandboxes(make_plugin_manager(allowed={"payfirma"}))
    assert set(offered) == {"payfirma"}
    credentials = offered["payfirma"].credentials("http://127.0.0.1:1")
    assert credentials.model_dump()["gateway_url"] == "http://127.0.0.1:1"


async def test_a_link_reached_by_number_names_the_customer_as_a_copied_one_does(
    person: Callable[[str], Person],
) -> None:
    """`/invoices pay 212948` leads to the same link as Copy payment link: it names whom
    it is for and says #billing hears when the customer pays, not when "a payment lands"."""
    pat = person("U0PAYER")
    await pat.types("pay 212948")
    menu = await pat.sees("Get a payment link for 212948")
    await pat.clicks(menu, "choose_method", selected="hpp")
    chosen = await pat.sees("'get_link'")
    await pat.clicks(chosen, "get_link")
    link = await pat.sees("Payment link for the customer")
    shown = everything_in(link)
    assert "Payment link for the customer *Jordan Lee" in shown
    assert "as soon as the customer pays" in shown and "payment lands" not in shown


async def test_a_customer_pays_by_the_copied_link(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("payfirma")
    listing = await pat.sees("Jordan Lee")
    await pat.clicks(listing, "copy_link", value=button_value(listing, "copy_link", "212948"))
    link = await pat.sees("Payment link for the customer")
    landed, page = await pay_by_card(url_of(link, "open_link"))
    assert "/landing/payfirma" in landed and "Thank you for your payment" in page
    assert "Slack" not in page and "invoicebot" not in page, "a customer is not in Slack"
    assert "Receipt reference" in page and "212948" in page

    slack = demo.slack[EMULATOR]
    (posted,) = await slack.wait_until(lambda: slack.messages(BILLING))
    lead = posted.blocks[0]["text"]["text"]
    assert lead.startswith(":moneybag: Jordan Lee") and "paid Payfirma invoice 212948" in lead
    # Nothing documents that a card payment marks the invoice: #billing is told to.
    assert demo.sandboxes["payfirma"][SANDBOX].invoices[212948].status == "UNPAID"
    assert "mark it paid in PayHQ" in str(posted.blocks)


async def test_an_invoice_is_emailed_from_slack(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("payfirma")
    listing = await pat.sees("Sam Okafor")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212949"))
    slack = demo.slack[EMULATOR]
    # The dialog opens saying "Looking up…", then becomes the form once the provider answers.
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition)
    )
    await slack.submit_view("U0PAYER", values={"to": {"value": "ap@harbourlabs.example"}})
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    sent = await slack.wait_until(lambda: sandbox.emails)
    assert sent == [Email(212949, "ap@harbourlabs.example")]


async def test_the_email_dialog_says_an_invoice_is_overdue_as_the_list_does(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Who sends an overdue invoice again should read that it is overdue, in the list's
    words, not only its due day."""
    pat = person("U0PAYER")
    await pat.types("payfirma")
    listing = await pat.sees("Jordan Lee")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212948"))
    slack = demo.slack[EMULATOR]
    modal = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition) and m
    )
    (shown,) = [b for b in modal.definition["blocks"] if b.get("block_id") == "invoice"]
    assert re.search(r":red_circle: overdue \d+ days \(due 20", shown["text"]["text"]), shown


async def test_a_lookup_failing_as_the_email_dialog_opens_shows_the_providers_words_as_text(
    person: Callable[[str], Person], demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Provider text is data: a mention or link in its error cannot ping or link."""

    async def refused(self: object, invoice_id: str) -> None:
        raise ProviderError("<!channel> see <https://evil.example|your bank> & retry")

    monkeypatch.setattr(PayfirmaProvider, "get_invoice", refused)
    pat = person("U0PAYER")
    await pat.types("payfirma")
    listing = await pat.sees("Sam Okafor")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212949"))
    slack = demo.slack[EMULATOR]
    modal = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Not sent" in str(m.definition) and m
    )
    (block,) = modal.definition["blocks"]
    said = block["text"]["text"]
    assert "&lt;!channel&gt; see &lt;https://evil.example|your bank&gt; &amp; retry" in said


async def test_an_invoice_created_in_slack_is_paid_by_the_customer(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await pat.types("payfirma")  # the list is read (and kept) before the invoice exists
    await pat.sees("Jordan Lee")
    await pat.types("new payfirma")
    form = await slack.wait_until(lambda: slack.modal("U0PAYER"))
    assert form is not None
    await slack.submit_view(
        "U0PAYER",
        values={
            "customer_name": {"value": "Riverside Books"},
            "customer_email": {"value": "accounts@riverside.example"},
            "currency": {"value": "CAD"},
            "item1_description": {"value": "Shelving install"},
            "item1_quantity": {"value": "3"},
            "item1_price": {"value": "3.00"},
            "item1_tax": {"value": "10"},
            "mode": {"value": "send"},
        },
    )
    review = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Total CA$9.90" in str(m.definition) and m
    )
    assert "Subtotal CA$9.00 · Tax CA$0.90" in str(review.definition)
    await slack.submit_view("U0PAYER")
    done = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "was created" in str(m.definition) and m
    )
    assert "e-mailed to accounts@riverside.example" in str(done.definition)
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    created = next(
        i for i in sandbox.invoices.values() if i.recipient_email.startswith("accounts@")
    )
    assert str(created.total) == "9.90"

    await pat.types("search Riverside")
    listing = await pat.sees("Riverside Books")
    invoice_id = str(created.invoice_id)
    await pat.clicks(listing, "copy_link", value=button_value(listing, "copy_link", invoice_id))
    link = await pat.sees("Payment link for the customer")
    _, page = await pay_by_card(url_of(link, "open_link"))
    assert "Thank you for your payment" in page  # CA$9.90: odd dollars, approved by the sandbox
    (posted,) = await slack.wait_until(lambda: slack.messages(BILLING))
    lead = posted.blocks[0]["text"]["text"]
    assert lead.startswith(":moneybag: Riverside Books") and f"invoice {invoice_id}" in lead


async def test_the_form_offers_only_the_currencies_payfirma_issues_in(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Euros were offered, reviewed and confirmed, and only then refused."""
    slack = demo.slack[EMULATOR]
    with pytest.raises(UserActionError, match="EUR"):
        await drafted(person("U0PAYER"), slack, currency="EUR")
    review = await drafted(person("U0PAYER"), slack, "$25.00", currency="USD")
    assert "It will be created at Payfirma" in str(review.definition)


async def test_a_create_payfirma_refuses_points_back_at_the_invoice_not_at_a_card(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Nobody was paying: "Try another card or method." made no sense under it."""
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    before = len(sandbox.invoices)
    await drafted(person("U0PAYER"), slack)
    sandbox.inject("decline", path="/invoice/draft")
    await slack.submit_view("U0PAYER")
    refused = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Not created" in str(m.definition) and m
    )
    assert refused.definition["blocks"][0]["text"]["text"] == (
        ":warning: Payfirma declined it: Declined by the processor (sandbox fault). Nothing "
        "was created; correct the invoice and try again with `/invoices new payfirma`."
    )
    assert len(sandbox.invoices) == before


async def test_a_draft_too_long_to_review_is_refused_on_the_long_field(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """A long name or a long second item was refused as "Shorten the descriptions",
    under item 1's short one."""
    slack = demo.slack[EMULATOR]
    invoices = demo.sandboxes["payfirma"][SANDBOX].invoices
    before = len(invoices)
    for field, text in (
        ("customer_name", "Riverside Books " * 180),  # within Slack's 3,000 characters
        ("item2_description", "Étagère " * 200),  # each accent is \u00e8 in the metadata
    ):
        await person("U0PAYER").types("new payfirma")
        form = await slack.wait_until(lambda: slack.modal("U0PAYER"))
        typed = {
            "customer_name": "Riverside Books",
            "customer_email": "accounts@riverside.example",
            "item1_description": "Shelving install",
            "item1_price": "12.50",
            field: text,
        }
        if field.startswith("item2"):
            typed["item2_price"] = "1"
        await slack.submit_view("U0PAYER", values={k: {"value": v} for k, v in typed.items()})
        shown = slack.modal("U0PAYER")
        assert shown is not None and shown.id == form.id
        assert shown.errors == {
            field: "Shorten this: with it, the invoice is too long to carry to the review."
        }
    assert len(invoices) == before


async def test_the_invoice_created_has_the_text_the_review_showed(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """A right-to-left override pasted into an item was left out of the review but sent
    to Payfirma, where it shows the customer "Shelving 05.21" as "Shelving 12.50"."""
    slack = demo.slack[EMULATOR]
    pasted = "Shelving \u202e05.21\x07"
    review = await drafted(person("U0PAYER"), slack, item1_description=pasted)
    assert "• Shelving 05.21: 2 ×" in str(review.definition)
    await slack.submit_view("U0PAYER")
    await slack.wait_until(lambda: "was created" in str(slack.modal("U0PAYER")))
    (created,) = [
        i
        for i in demo.sandboxes["payfirma"][SANDBOX].invoices.values()
        if i.recipient_email == "accounts@riverside.example" and i.items
    ]
    assert [item.item for item in created.items] == ["Shelving 05.21"]


async def test_an_invoice_created_in_slack_for_a_known_customer_is_filed_under_them(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """The form asks only for an e-mail; Payfirma's own invoices to it name the customer."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await drafted(
        pat,
        slack,
        "CA$75.00",
        customer_name="Jordan Lee",
        customer_email="jordan@mapleleaf.example",
        item1_description="Oven service",
        item1_quantity="1",
        item1_price="75.00",
    )
    await slack.submit_view("U0PAYER")
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "was created" in str(m.definition)
    )
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    created = max(sandbox.invoices.values(), key=lambda item: item.invoice_id)
    assert (created.items[0].item, created.customer_id) == ("Oven service", 5002)


async def test_a_draft_saved_in_slack_is_sent_from_the_list_and_then_watched(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """The review shows the title and "no due date" as the list does; the draft is
    listed with Send by e-mail, which issues it at Payfirma; then it is open and watched."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    review = await drafted(pat, slack, title="Spring shelving")
    shown = str(review.definition)
    assert "Spring shelving\\n" in shown and "no due date" in shown and "receipt" not in shown
    await slack.submit_view("U0PAYER")
    done = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "was created" in str(m.definition) and m
    )
    assert "`/invoices drafts`" in str(done.definition)
    number = str(max(sandbox.invoices))
    await pat.types("payfirma drafts")
    listing = await pat.sees(number)
    assert "no due date" in str(listing.blocks)
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", number))
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition)
    )
    await slack.submit_view("U0PAYER")
    sent = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'Sent'" in str(m.definition) and m
    )
    assert f"Invoice {number} (CA$25.00) was sent to accounts@riverside.example" in str(
        sent.definition
    )
    assert sandbox.emails[-1] == Email(int(number), "accounts@riverside.example")
    assert sandbox.invoices[int(number)].status == "UNPAID"
    store = demo.bot[STORE]
    (payment,) = store.payments_for_number(slack.workspace.team_id, number)
    assert payment.state.value == "link_issued" and payment.amount.format() == "CA$25.00"
    before = len(slack.ephemerals("U0PAYER"))
    await pat.types("payfirma drafts")  # at once, not after the kept list expires
    shown = await slack.wait_until(lambda: slack.ephemerals("U0PAYER")[before:])
    assert "212952" in str(shown[-1].blocks) and number not in str(shown[-1].blocks)


async def test_the_drafts_list_a_draft_was_sent_from_no_longer_offers_it_as_a_draft(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Once sent, a draft is an open invoice: the list it was sent from is shown again as
    it is now, not left offering Send by e-mail for a draft that is none."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await pat.types("payfirma drafts")
    listing = await pat.sees("212952")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212952"))
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition)
    )
    await slack.submit_view("U0PAYER")
    await slack.wait_until(lambda: (m := slack.modal("U0PAYER")) and "'Sent'" in str(m.definition))
    await slack.wait_until(lambda: "212952" not in everything_in(listing), 10)
    assert "None here." in everything_in(listing), everything_in(listing)


async def test_a_send_dialog_submitted_again_sends_nothing_again(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """The same submission again (a replayed request) e-mails the customer no second
    time, and the person reads that it was sent before."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    await pat.types("payfirma")
    listing = await pat.sees("212948")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212948"))
    dialog = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition) and m
    )
    submitted = replayable(slack, dialog)
    await slack.submit_view("U0PAYER")
    await slack.wait_until(lambda: (m := slack.modal("U0PAYER")) and "'Sent'" in str(m.definition))
    again = await slack.bot.send(payloads.interaction(submitted), payloads.FORM)
    assert "Already sent" in str(again.json), again.json
    await soon(lambda: demo_idle(demo))
    assert len(sandbox.emails) == 1


async def test_a_draft_changed_while_its_send_dialog_is_open_is_not_sent_unseen(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Drafts are for editing: one edited in PayHQ after the dialog showed CA$25.00 is
    not e-mailed for another amount; the dialog says what it comes to now."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    await drafted(pat, slack)
    await slack.submit_view("U0PAYER")
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "was created" in str(m.definition)
    )
    number = str(max(sandbox.invoices))
    await pat.types("payfirma drafts")
    listing = await pat.sees(number)
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", number))
    dialog = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition) and m
    )
    shown = str(dialog.definition)
    assert "CA$25.00" in shown and "no due date" in shown
    assert "sending it should issue it" in shown and "Payfirma still lists it as a draft" in shown
    item = sandbox.invoices[int(number)]
    sandbox.invoices[int(number)] = item.model_copy(update={"total": Decimal("2500.00")})
    await slack.submit_view("U0PAYER")
    refused = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Nothing was sent" in str(m.definition) and m
    )
    assert "now comes to CA$2,500.00, not the CA$25.00 shown here" in str(refused.definition)
    assert "submit" not in refused.definition, "no Send that could only be refused again"
    assert sandbox.emails == [] and sandbox.invoices[int(number)].status == "DRAFT"
    assert demo.bot[STORE].payments_for_number(slack.workspace.team_id, number) == []


async def test_a_draft_payfirma_still_lists_as_one_after_sending_is_said_so(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Payfirma's documents do not say that e-mailing a draft issues it: if it is still a
    draft afterwards, the sender is told the customer may not be able to pay it yet."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    sandbox.sending_issues_drafts = False
    await pat.types("payfirma drafts")
    listing = await pat.sees("212952")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212952"))
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition)
    )
    await slack.submit_view("U0PAYER")
    sent = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'Sent'" in str(m.definition) and m
    )
    assert "Payfirma still lists it as a draft" in str(sent.definition)
    assert sandbox.emails[-1].invoice_id == 212952


async def test_a_send_refused_by_payfirma_offers_the_dialog_again_as_it_was_typed(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """A refusal worth another try (an address Payfirma will not send to) shows the form
    again with the address typed and the draft's note, not an empty form."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await pat.types("payfirma drafts")
    listing = await pat.sees("212952")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212952"))
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition)
    )
    await slack.submit_view("U0PAYER", values={"to": {"value": "ap/bills@harbourlabs.example"}})
    again = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'problem'" in str(m.definition) and m
    )
    shown = str(again.definition)
    assert "not an e-mail address Payfirma can send to" in shown
    assert "'initial_value': 'ap/bills@harbourlabs.example'" in shown
    assert json.loads(again.definition["private_metadata"])["draft"] is True
    assert demo.sandboxes["payfirma"][SANDBOX].emails == []


async def test_an_address_typed_short_is_pointed_out_and_nothing_is_recorded(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Slack's e-mail field takes "ap@harbourlabs" (no domain ending): it was recorded as
    a failed e-mail and its refusal shown above the field, not on it."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    await pat.types("payfirma")
    listing = await pat.sees("Sam Okafor")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212949"))
    form = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "'block_id': 'to'" in str(m.definition) and m
    )
    for typed in ("ap@harbourlabs", "ap@harbourlabs.example" + "e" * 240):
        await slack.submit_view("U0PAYER", values={"to": {"value": typed}})
        shown = slack.modal("U0PAYER")
        assert shown is not None and shown.id == form.id and shown.definition == form.definition
        assert shown.errors == {"to": "Type the address in full, like name@example.com."}
    assert demo.sandboxes["payfirma"][SANDBOX].emails == []
    assert demo.bot[STORE].recent_payments("T0TEAM", "U0PAYER") == []


async def test_only_a_draft_is_issued_by_sending_it(demo: Demo) -> None:
    """A paid invoice is not a draft to send: refused in plain words, nothing recorded."""
    checkout = demo.bot[SERVICES].checkout
    team_id = demo.slack[EMULATOR].workspace.team_id
    with pytest.raises(NotPayable, match="212951 is paid"):
        await checkout.send_by_email(
            team_id=team_id, user_id="U0PAYER", provider="payfirma", invoice_id="212951", to=None
        )
    assert demo.sandboxes["payfirma"][SANDBOX].emails == []
    assert demo.bot[STORE].payments_for_number(team_id, "212951") == []


async def test_a_created_invoice_leaves_no_form_behind_and_is_created_once(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Closing "Invoice created" closes the dialog (no filled-in form with a live Review
    under it), and the same review submitted twice creates one invoice."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    before = len(sandbox.invoices)
    review = await drafted(pat, slack)
    # Edit goes back to the form as typed, in the same dialog.
    await slack.click("U0PAYER", review, "edit_invoice")
    form = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Review" in str(m.definition) and m
    )
    assert "Shelving install" in str(form.definition) and "12.50" in str(form.definition)
    await slack.submit_view("U0PAYER", values={"item1_quantity": {"value": "3"}})
    review = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "Total CA$37.50" in str(m.definition) and m
    )
    submitted = replayable(slack, review)
    await slack.submit_view("U0PAYER")
    await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "was created" in str(m.definition)
    )
    again = await slack.bot.send(payloads.interaction(submitted), payloads.FORM)
    assert f"This form already created invoice *{max(sandbox.invoices)}*" in str(again.json)
    assert "Already created" in str(again.json)
    assert len(sandbox.invoices) == before + 1
    number = str(max(sandbox.invoices))
    told = [e.text for e in story(demo.bot[STORE], slack.workspace.team_id, number, {})]
    created = [text for text in told if "created it in Slack" in text]
    assert created == ["<@U0PAYER> created it in Slack"], told  # once, in its history
    await slack.close_view("U0PAYER")
    assert slack.modal("U0PAYER") is None


async def test_a_form_whose_answer_was_lost_says_so_and_a_resubmit_creates_nothing(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Payfirma failing as the invoice is created leaves it unknown whether it exists: the
    dialog says so, and the same review submitted again (Slack retrying, a second click)
    creates nothing and says the first submit's outcome was never heard."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    before = len(sandbox.invoices)
    review = await drafted(pat, slack)
    submitted = replayable(slack, review)
    sandbox.inject("error", path="/invoice/draft")
    await slack.submit_view("U0PAYER")
    shown = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "may have been created" in str(m.definition) and m
    )
    assert "Not confirmed" in str(shown.definition)
    again = await slack.bot.send(payloads.interaction(submitted), payloads.FORM)
    said = str(again.json)
    assert "Submitted before" in said
    assert "has not heard whether Payfirma created the invoice" in said
    assert "`/invoices payfirma`" in said
    assert len(sandbox.invoices) == before


async def test_a_form_submitted_again_while_it_is_created_waits_and_shows_the_result(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """A second submit while Payfirma is still creating the first says so, creates
    nothing, and does not leave "being created" standing over the result."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    before = len(sandbox.invoices)
    review = await drafted(pat, slack)
    submitted = replayable(slack, review)
    sandbox.latency = 0.5
    first = asyncio.create_task(slack.submit_view("U0PAYER"))
    await soon(lambda: sandbox.count("POST", "/invoice/draft") > 0)  # the create is on its way
    again = await slack.bot.send(payloads.interaction(submitted), payloads.FORM)
    assert "This invoice is being created at Payfirma right now" in str(again.json)
    await first  # acked; the create goes on
    await soon(lambda: len(sandbox.invoices) > before)
    number = str(max(sandbox.invoices))
    shown = await slack.wait_until(
        lambda: (
            (m := slack.modal("U0PAYER"))
            and number in str(m.definition)
            and "right now" not in str(m.definition)
            and m
        ),
        10,
    )
    await asyncio.sleep(SETTLED_POLL * 3)  # the repeat's last look has come and gone
    final = str(slack.modal("U0PAYER").definition)  # type: ignore[union-attr]
    assert number in final and "right now" not in final, final
    assert "'Invoice created'" in final, final  # the result, not a repeat's refusal
    assert shown is not None and len(sandbox.invoices) == before + 1


async def test_someone_who_may_not_pay_sees_customers_invoices_without_controls(
    person: Callable[[str], Person], demo: Demo
) -> None:
    val = person("U0VIEWER")
    await val.types("payfirma")
    listing = await val.sees("Sam Okafor")
    shown = str(listing.blocks)
    assert "copy_link" not in shown and "send_email" not in shown
    assert "Only people chosen as payers can pay invoices; ask an admin" in shown
    await val.types("new payfirma")
    refusal = await val.sees("not allowed to create invoices")
    assert "ask an admin" in str(refusal.blocks)
    assert demo.slack[EMULATOR].modal("U0VIEWER") is None


async def test_the_email_dialog_shows_what_is_sent_to_whom(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("payfirma")
    listing = await pat.sees("Sam Okafor")
    await pat.clicks(listing, "send_email", value=button_value(listing, "send_email", "212949"))
    slack = demo.slack[EMULATOR]
    dialog = await slack.wait_until(
        lambda: (m := slack.modal("U0PAYER")) and "212949" in str(m.definition) and m
    )
    shown = str(dialog.definition)
    assert "Sam Okafor" in shown and "$321.43" in shown  # $299.00 + 7.5 % tax
    (to,) = [b for b in dialog.blocks if b.get("block_id") == "to"]
    assert to["element"]["initial_value"] == "sam@harbourlabs.example"
    await slack.submit_view("U0PAYER")  # the address on file, as shown
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    sent = await slack.wait_until(lambda: sandbox.emails)
    assert [email.invoice_id for email in sent] == [212949]
    await slack.wait_until(
        lambda: (
            (m := slack.modal("U0PAYER"))
            and "was sent to sam@harbourlabs.example" in str(m.definition)
        )
    )


async def copy_link(pat: Person, customer: str, invoice_id: str) -> tuple[Message, Message]:
    """`/invoices payfirma`, then Copy payment link on `invoice_id`: (the list, the link)."""
    await pat.types("payfirma")
    listing = await pat.sees(customer)
    await pat.clicks(listing, "copy_link", value=button_value(listing, "copy_link", invoice_id))
    return listing, await pat.sees("Payment link for the customer")


async def test_a_copied_link_names_the_customer_and_leaves_the_list(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    listing, link = await copy_link(pat, "Sam Okafor", "212949")
    before = listing.blocks
    said = str(link.blocks)
    assert "Sam Okafor" in said and "212949" in said and "$321.43" in said
    assert link.ts != listing.ts
    slack = demo.slack[EMULATOR]
    still = next(m for m in slack.ephemerals("U0PAYER") if m.ts == listing.ts)
    assert still.blocks == before  # the list is still there to work through

    _, page = await pay_by_card(url_of(link, "open_link"))
    assert "Thank you for your payment" in page
    await slack.wait_until(lambda: slack.messages(BILLING))
    await slack.wait_until(lambda: demo_idle(demo))
    still = next(m for m in slack.ephemerals("U0PAYER") if m.ts == listing.ts)
    assert still.blocks == before, "one customer's payment does not take the list away"
    await pat.types("all payfirma")
    paid = await pat.sees("paid 20")  # the day the bot saw it settled, not "paid —"
    line = next(b for b in paid.blocks if "212949" in str(b))
    assert "paid —" not in str(line) and ":white_check_mark: paid " in str(line)


async def test_a_declined_copied_link_leaves_the_list_and_billing_can_copy_a_new_one(
    person: Callable[[str], Person], demo: Demo
) -> None:
    listing, link = await copy_link(person("U0PAYER"), "Dana Whitfield", "212947")
    before = listing.blocks
    landed, page = await pay_by_card(url_of(link, "open_link"))  # even dollars: declined
    assert "result=failure" in landed and "Payment failed" in page

    slack = demo.slack[EMULATOR]
    (failed,) = await slack.wait_until(lambda: slack.messages(BILLING))
    assert "Payment failed" in failed.text and "Copy a new payment link" in str(failed.blocks)
    await slack.wait_until(lambda: demo_idle(demo))
    still = next(m for m in slack.ephemerals("U0PAYER") if m.ts == listing.ts)
    assert still.blocks == before, "the decline is told in #billing, not over the list"

    notice = copy.deepcopy(failed.blocks)
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    sandbox.inject("error", count=50)  # Payfirma down: the error comes below the notice
    await slack.click("U0PAYER", failed, "copy_link")
    await slack.wait_until(
        lambda: any(":warning:" in m.text for m in slack.ephemerals("U0PAYER", BILLING))
    )
    sandbox.clear_faults()
    await slack.click("U0PAYER", failed, "copy_link")
    fresh = await slack.wait_until(
        lambda: next(
            (m for m in slack.ephemerals("U0PAYER", BILLING) if "Payment link" in m.text), None
        )
    )
    assert url_of(fresh, "open_link") != url_of(link, "open_link")
    assert slack.messages(BILLING)[0].blocks == notice, "the notice stays for everyone"


async def test_a_customer_who_paid_is_not_reminded_while_payfirma_lists_it_unpaid(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Nothing documents that Payfirma marks an invoice paid on its payment page: one the
    bot saw paid is not reminded of, by hand or on a schedule, nor listed as still due."""
    from bot.clock import ManualClock
    from bot.web import SCHEDULER

    pat = person("U0PAYER")
    listing, link = await copy_link(pat, "Jordan Lee", "212948")  # overdue
    remind = button_value(listing, "remind_customer", "212948")
    _, page = await pay_by_card(url_of(link, "open_link"))
    assert "Thank you for your payment" in page
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    assert sandbox.invoices[212948].status == "UNPAID"

    await pat.clicks(listing, "remind_customer", value=remind)  # the list from before
    said = await pat.sees("was paid through invoicebot")
    assert "no reminder sent" in said.text and sandbox.emails == []

    scheduler, svc = demo.bot[SCHEDULER], demo.bot[SERVICES]
    later = datetime.now(scheduler.timetable.zone).replace(hour=10) + timedelta(days=28)
    clock = ManualClock(later)  # 212947 and others are overdue by then, and not paid
    scheduler.clock = svc.clock = clock
    scheduler.timetable = svc.settings.timetable.__class__.parse(
        zone="UTC", digest="off", daily="09:00", due_reminder_days=0, auto_remind="1x3"
    )
    for _ in range(3):
        await scheduler.run_once()
        clock.advance(86400)
    reminded = {email.invoice_id for email in sandbox.emails}
    assert 212947 in reminded and 212948 not in reminded


async def test_an_invoice_paid_short_still_asks_for_the_rest(
    person: Callable[[str], Person], demo: Demo
) -> None:
    """Its amount grew after the page was made: the charge settles it in the bot, yet
    what it still asks is listed; the customer is not sent the whole invoice again."""
    pat = person("U0PAYER")
    listing, link = await copy_link(pat, "Jordan Lee", "212948")
    remind = button_value(listing, "remind_customer", "212948")
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    sandbox.drift["212948"] = {"total": Decimal("150.00")}
    _, page = await pay_by_card(url_of(link, "open_link"))
    assert "Thank you for your payment" in page
    await pat.types("payfirma")
    listed = await pat.sees("CA$150.00")
    line = next(b for b in listed.blocks if "212948" in str(b))
    assert ":white_check_mark:" not in str(line)
    await pat.clicks(listing, "remind_customer", value=remind)
    said = await pat.sees("was paid in part through invoicebot")
    assert "collect the rest at Payfirma" in said.text and sandbox.emails == []


async def test_a_dialog_closed_while_it_creates_tells_the_outcome_directly(
    person: Callable[[str], Person], demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    """Closed while it says "Creating…": Slack refuses to update a closed dialog, and the
    person would never learn that the invoice was created (and might create it again)."""
    pat = person("U0PAYER")
    slack = demo.slack[EMULATOR]
    sandbox = demo.sandboxes["payfirma"][SANDBOX]
    review = await drafted(pat, slack)
    sandbox.latency = 0.5
    await slack.submit_view("U0PAYER")
    await slack.wait_until(lambda: "Creating" in str(slack.modal("U0PAYER").definition))  # type: ignore[union-attr]
    await slack.close_view("U0PAYER", everything=True)
    dm = slack.workspace.dm_with("U0PAYER")
    told = await slack.wait_until(lambda: slack.messages(dm.id), seconds=10)
    number = str(max(sandbox.invoices))
    assert f"Invoice *{number}*" in told[-1].text and "was created" in told[-1].text
    assert review.id and not [r for r in caplog.records if r.levelno > logging.WARNING]
