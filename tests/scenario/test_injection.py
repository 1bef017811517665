"""Provider and user text is data: mentions, broadcasts and disguised links planted in
every field that reaches Slack come out escaped, in blocks and in `text` fallbacks alike,
through every message of a whole payment."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestServer

from bot.web import OUTBOX
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, pay_in_browser, text_of
from tests.scenario.test_paying import get_link, refused_link

HOSTILE = ("<!channel>", "<!here>", "<@U0VICTIM>", "<https://evil.example|click>")
PLANTED = " ".join(HOSTILE)


def mrkdwn(value: Any, top: bool = True) -> list[str]:
    """Every string Slack parses as mrkdwn: a message's `text` (what notifications show)
    and each mrkdwn text object. plain_text is shown as typed, mentions and links inert."""
    if isinstance(value, str):
        try:
            return mrkdwn(json.loads(value), top)
        except ValueError:
            return []
    if isinstance(value, list):
        return [s for item in value for s in mrkdwn(item, False)]
    if not isinstance(value, dict):
        return []
    found = []
    if (top or value.get("type") == "mrkdwn") and isinstance(value.get("text"), str):
        found.append(value["text"])
    for key, item in value.items():
        if key != "text" or not isinstance(item, str):
            found += mrkdwn(item, False)
    return found


def raw_sequences(h: Harness) -> list[str]:
    """Planted control sequences that reached Slack unescaped, with where."""
    sent = [c.args for c in h.slack.calls] + [
        body for bodies in h.slack.responses.values() for body in bodies
    ]
    found = []
    for message in sent:
        for text in mrkdwn(message):
            found += [f"{bad} in {text[:120]!r}" for bad in HOSTILE if bad in text]
    return found


def plant(sandbox: TestServer) -> None:
    state = sandbox.app[SANDBOX]
    invoice = state.invoices["410001"]
    state.invoices["410001"] = invoice.model_copy(
        update={"invoiceNumber": f"INV {PLANTED}", "description": f"Hosting {PLANTED}"}
    )
    ideal = state.methods[0].method
    banks = [b.model_copy(update={"name": f"ING {PLANTED}"}) for b in ideal.issuers]
    state.methods[0] = replace(
        state.methods[0],
        method=ideal.model_copy(update={"name": f"iDEAL {PLANTED}", "issuers": banks}),
    )


async def test_hostile_provider_text_is_escaped_in_every_message_of_a_payment(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    plant(i3d_sandbox)
    _, link = await get_link(h)  # INV-24-0101, by iDEAL through ING
    _, page = await pay_in_browser(h.http, link)
    assert "Invoice paid" in page and "<!channel>" not in page
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    await h.bot.app[OUTBOX].send_due()
    await h.command(f"search {PLANTED}")
    await h.command(f"pay {PLANTED}")
    await h.command(f"{PLANTED}")
    await h.command(f"paid {PLANTED}")
    home = {
        "type": "event_callback",
        "team_id": "T0TEAM",
        "event": {"type": "app_home_opened", "user": "U0PAYER", "tab": "home"},
        "event_id": "Ev1",
    }
    await h.post(json.dumps(home))
    await h.wait_for(lambda: h.slack.called("views.publish"))
    assert len(h.slack.posted_to("C0BILLING")) == 1
    confirmation = h.slack.posted_to("C0BILLING")[0]
    assert "&lt;!channel&gt;" in confirmation["text"]
    assert raw_sequences(h) == []


async def test_the_payers_pages_drop_characters_that_reorder_or_hide_text(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """A right-to-left override in an invoice number would turn the page's text around
    (as Slack's messages already drop it); the form for the provider keeps its fields."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    invoice = state.invoices["410001"]
    number = "INV-24-0101 \u202e€08.69\u202c \x07"
    state.invoices["410001"] = invoice.model_copy(update={"invoiceNumber": number})
    _, link = await get_link(h)  # INV-24-0101, by iDEAL through ING
    async with h.http.get(link) as response:
        page = await response.text()
    assert "INV-24-0101 €08.69" in page
    assert not {"\u202e", "\u202c", "\x07"} & set(page)


async def test_a_credit_notes_number_in_a_refusal_is_escaped(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """The refusal of a payment whose credit note another live link takes off quotes the
    credit note's number, which i3D.net writes: it must reach Slack escaped."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    credit = state.invoices["410004"]
    state.invoices["410004"] = credit.model_copy(update={"invoiceNumber": f"CRN {PLANTED}"})
    await get_link(h, "410002")  # INV-24-0087, less the credit note
    refused, _ = await refused_link(h, "410001")
    assert "is already taken off your payment" in text_of(refused)
    assert raw_sequences(h) == []
    assert all(bad not in text_of(refused) for bad in HOSTILE)


async def test_a_lone_surrogate_in_a_providers_answer_still_lets_the_invoice_be_paid(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """i3D.net's JSON may carry half of a character as an escape ("\\ud800"): reading its
    pay answer again for the menu raised "str is not valid UTF-8", and Pay showed only
    "something went wrong". No such half reaches Slack, the page or the database."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    ideal = state.methods[0].method
    banks = [bank.model_copy(update={"name": f"{bank.name} \ud800"}) for bank in ideal.issuers]
    state.methods[0] = replace(
        state.methods[0], method=ideal.model_copy(update={"name": "iDEAL \udfff", "issuers": banks})
    )
    invoice = state.invoices["410001"]
    state.invoices["410001"] = invoice.model_copy(update={"invoiceNumber": "INV-24-0101 \ud83d"})
    _, link = await get_link(h)  # INV-24-0101, by iDEAL through ING
    async with h.http.get(link) as response:
        page = await response.text()
    assert "INV-24-0101" in page and "iDEAL" in page
    sent = json.dumps([c.args for c in h.slack.calls] + list(h.slack.responses.values()))
    assert "\\ud8" not in sent and "\\udf" not in sent


async def test_a_nul_in_a_providers_invoice_number_breaks_no_other_lookup(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """An escaped NUL ("\\u0000") in a number i3D.net sends was kept with the payment's
    numbers, which PostgreSQL's JSON functions cannot turn into text: every lookup of
    the team's payments by number failed from then on, for any number."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    invoice = state.invoices["410001"]
    state.invoices["410001"] = invoice.model_copy(update={"invoiceNumber": "INV-24-0101\x00"})
    await get_link(h)  # INV-24-0101, by iDEAL through ING
    _, screen, _ = await h.command("history INV-24-0087")
    answer = text_of((await h.screen_after(screen)).message)
    assert "INV-24-0087" in answer and "went wrong" not in answer


async def test_a_providers_line_breaks_cannot_add_a_line_to_an_invoices_story(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Each event of `/invoices history` is one dated line: a method name, bank or
    reference carrying line breaks made up lines of its own, such as a settlement."""
    h = harness
    state = i3d_sandbox.app[SANDBOX]
    forged = "\n:white_check_mark: Settled: €0.00 by cash"
    ideal = state.methods[0].method
    banks = [b.model_copy(update={"name": f"{b.name}{forged}"}) for b in ideal.issuers]
    state.methods[0] = replace(
        state.methods[0],
        method=ideal.model_copy(update={"name": f"iDEAL{forged}", "issuers": banks}),
    )
    _, link = await get_link(h)  # INV-24-0101, by iDEAL through ING
    await pay_in_browser(h.http, link)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    _, screen, _ = await h.command("history INV-24-0101")
    story = (await h.screen_after(screen)).message
    lines = [
        line
        for block in story["blocks"]
        if block["type"] == "section"
        for line in block["text"]["text"].split("\n")
    ]
    assert len(lines) >= 3 and all(line.startswith("<!date^") for line in lines), lines
