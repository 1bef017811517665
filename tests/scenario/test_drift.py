"""Real APIs drift one invoice at a time: the other invoices still show, an invoice that
cannot be read is one line saying so, and a payment check is never blanked by drift."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from plugins.i3d.sandbox import SANDBOX
from plugins.i3d.sandbox.state import ABSENT
from tests.scenario.harness import Harness, pay_in_browser, text_of
from tests.scenario.test_settling_once import link_for


@pytest.mark.parametrize(
    "changes",
    [
        {"somethingNew": {"nested": True}},
        {"description": None, "paymentDate": None},
        {"invoiceHash": ABSENT},
        {"amountIncVAT": 12100, "amountExclVAT": 10000},
        {"isCredit": "0", "dueDate": "1798761600"},
    ],
    ids=["extra field", "nulls", "missing hash", "numbers for strings", "strings for numbers"],
)
async def test_one_drifting_invoice_still_lists_and_pays(
    harness: Harness, i3d_sandbox: TestServer, changes: dict[str, object]
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].drift["410001"] = changes
    _, screen, _ = await h.command("all")
    listed = text_of((await h.screen_after(screen)).message)
    assert "INV-24-0101" in listed and "INV-24-0102" in listed
    assert "could not be read" not in listed
    _, link = await link_for(h)
    _, page = await pay_in_browser(h.http, link)
    assert "Invoice paid" in page


async def test_an_invoice_that_cannot_be_read_is_one_line_and_the_rest_show(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    i3d_sandbox.app[SANDBOX].drift["410005"] = {"remainingAmount": None, "currency": None}
    _, screen, _ = await h.command("all")
    listed = text_of((await h.screen_after(screen)).message)
    assert "1 invoice (INV-24-0102) could not be read" in listed
    assert "INV-24-0101" in listed and "INV-24-0103" in listed


async def test_a_server_ignoring_the_range_is_read_once_not_forever(
    harness: Harness, i3d_sandbox: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PAGE-TOKEN-style server answers every offset with the first page."""
    from plugins.i3d.sandbox import endpoints

    real = endpoints.requested_range
    monkeypatch.setattr(endpoints, "requested_range", lambda header: (0, real(header)[1]))
    state = i3d_sandbox.app[SANDBOX]
    state.add_invoices(list(state.invoices.values())[:0])
    before = state.count("GET", "/v3/account/invoice")
    _, screen, _ = await harness.command("all")
    await harness.screen_after(screen)
    assert state.count("GET", "/v3/account/invoice") - before <= 3


async def test_a_paid_invoice_that_cannot_be_read_is_asked_about_again_not_given_up(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    from bot.web import POLLER, STORE

    h = harness
    _, link = await link_for(h)
    state = i3d_sandbox.app[SANDBOX]
    state.drift["410001"] = {"remainingAmount": "twelve"}
    _, page = await pay_in_browser(h.http, link)
    assert "Payment not confirmed yet" in page
    store = h.bot.app[STORE]
    assert [p.state.value for p in store.payments_for_invoices("T0TEAM", "i3d", ["410001"])] == [
        "opened"
    ]
    state.drift.clear()
    await h.bot.app[POLLER].run_once()
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"), within=10)


async def test_an_id_no_button_can_carry_leaves_the_rest_of_the_list_and_its_labels(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """With approvals on, every Pay button is read back to label it: one invoice whose id
    holds a space or a slash once turned the whole list into an error."""
    from bot.approvals_policy import Policy
    from bot.web import SERVICES
    from tests.scenario.harness import TEAM

    h = harness
    policy = Policy.parse("EUR 500 1 U0FINANCE,U0ADMIN")
    h.bot.app[SERVICES].approvals.save_policy(TEAM, policy, user_id="U0ADMIN")
    i3d_sandbox.app[SANDBOX].drift["410001"] = {"id": "41 0001/x+y="}
    _, screen, _ = await h.command("all")
    message = (await h.screen_after(screen)).message
    listed = text_of(message)
    assert "INV-24-0101" in listed and "INV-24-0102" in listed
    assert "Something went wrong" not in listed
    assert "an id that Slack's buttons cannot carry" in listed
    assert "41 0001/x+y=" not in str(message)  # no button or tick names it
    assert "Request approval" in str(message)  # the other invoices are still labelled
    _, screen, _ = await h.command("pay INV-24-0101")
    said = text_of((await h.screen_after(screen)).message)
    assert "cannot carry" in said and "choose_method" not in said


async def test_two_invoices_too_big_to_add_up_are_set_aside_not_the_list(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Each amount was read (28 digits of cents), but their sum is past what a decimal
    holds exactly: the list's totals failed, and with them the whole list."""
    state = i3d_sandbox.app[SANDBOX]
    for invoice_id in ("410001", "410007"):
        big = "9" * 28
        state.drift[invoice_id] = {
            "amountIncVAT": big,
            "amountExclVAT": big,
            "remainingAmount": big,
        }
    _, screen, _ = await harness.command("all")
    listed = text_of((await harness.screen_after(screen)).message)
    assert "2 invoices (INV-24-0101, INV-24-0104) could not be read" in listed
    assert "INV-24-0087" in listed and "went wrong" not in listed


async def test_the_digest_says_an_invoice_could_not_be_read_instead_of_leaving_it_out(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """INV-24-0087 is overdue: unread, it went missing from the digest without a word,
    which then told #billing of fewer overdue invoices than there are."""
    from datetime import UTC, datetime

    from bot.web import SCHEDULER

    i3d_sandbox.app[SANDBOX].drift["410002"] = {"remainingAmount": None, "currency": None}
    await harness.bot.app[SCHEDULER]._digest("T0TEAM", datetime.now(UTC).date().isoformat())
    (digest,) = await harness.wait_for(lambda: harness.slack.posted_to("C0BILLING"))
    said = text_of(digest)
    assert "1 invoice (INV-24-0087) could not be read" in said
    assert "missing from this digest" in said and "INV-24-0087*" not in said


async def test_app_home_says_an_invoice_could_not_be_read_instead_of_leaving_it_out(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Home's list of what is due left an unread invoice out without a word."""
    from bot.slack.home import home_view
    from bot.web import SERVICES

    i3d_sandbox.app[SANDBOX].drift["410002"] = {"remainingAmount": None, "currency": None}
    home = text_of(await home_view(harness.bot.app[SERVICES], "T0TEAM", "U0PAYER"))
    assert "1 invoice (INV-24-0087) could not be read" in home
    assert "To pay*\n€7,623.00" in home  # the others still count
