"""The whole way: /invoices → Pay → method → bank → link → pay page → provider → landing →
confirmation in the billing channel, and the payer's message settled."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.models import PaymentState
from bot.pages import PAYMENTS
from bot.web import SERVICES
from plugins.i3d.sandbox import SANDBOX
from tests.scenario.harness import Harness, Screen, find, pay_in_browser, text_of


async def open_menu(h: Harness, invoice_id: str = "410001") -> Screen:
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", pick=lambda e: f"|{invoice_id}" in e["value"])
    return Screen(await h.next_response(key), key)


async def choose(h: Harness, menu: Screen, action_id: str, value: str) -> Screen:
    key = await h.click(menu, action_id, selected=value)
    return Screen(await h.next_response(key), key)


async def get_link(h: Harness, invoice_id: str = "410001") -> tuple[str, str]:
    menu = await open_menu(h, invoice_id)
    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    link = await h.next_response(key)
    return key, find(link, "open_link", lambda e: True)[1]["url"]


async def test_the_pay_menu_marks_an_overdue_invoice_as_the_list_does(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("")
    listing = text_of((await h.screen_after(screen)).message)
    marker = re.search(r":red_circle: overdue 10 days \(due \d{4}-\d{2}-\d{2}\)", listing)
    assert marker is not None, listing
    menu = text_of((await open_menu(h, "410002")).message)  # INV-24-0087, 10 days late
    assert f"€363.00 · {marker.group()}" in menu
    _, screen, _ = await h.command("pay INV-24-0087")
    assert marker.group() in text_of((await h.screen_after(screen)).message)
    ahead = text_of((await open_menu(h, "410001")).message)  # due in 25 days
    assert "overdue" not in ahead and "· due 20" in ahead


async def opened_link(h: Harness) -> str:
    """A link got for INV-24-0101 and its page opened (then left unpaid): its URL."""
    _, pay_url = await get_link(h)
    async with h.http.get(pay_url) as page:
        assert page.status == 200
    return pay_url


async def test_a_payment_from_slash_command_to_billing_confirmation(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("")
    screen = await h.screen_after(screen)
    listing = text_of(screen.message)
    assert listing.index("INV-24-0087") < listing.index("INV-24-0101"), "overdue comes first"
    assert "overdue" in listing and "INV-24-0055" not in listing  # paid ones are not open

    key = await h.click(screen, "pay", pick=lambda e: "|410001" in e["value"])
    menu = Screen(await h.next_response(key), key)
    shown = text_of(menu.message)
    assert "€121.00" in shown
    assert "Credit taken off: €121.00 − credit CRN-24-0003 €24.20 = €96.80" in shown
    assert "*Total: €96.80*" in shown  # €121.00 less the €24.20 credit note
    assert "SEPA Direct Debit: i3D.net does not offer this method" in shown

    menu = await choose(h, menu, "choose_method", "10")
    _, issuer_select = find(menu.message, "choose_issuer", lambda e: True)
    assert {o["text"]["text"] for o in issuer_select["options"]} >= {"ING", "Rabobank"}
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    _, button = find(menu.message, "get_link", lambda e: True)
    confirm = button["confirm"]["text"]["text"]
    assert "€96.80" in confirm and "INV-24-0101" in confirm and "iDEAL (ING)" in confirm
    assert "€121.00 − credit CRN-24-0003 €24.20 = €96.80" in confirm

    key = await h.click(menu, "get_link")
    link = await h.next_response(key)
    _, open_button = find(link, "open_link", lambda e: True)
    assert open_button["url"].startswith(str(h.bot.make_url("/pay/")))

    final_url, page = await pay_in_browser(h.http, open_button["url"])
    assert final_url.startswith(str(h.bot.make_url("/landing/i3d")))
    assert "Invoice paid" in page
    assert "credit CRN-24-0003 €24.20" in page and "iDEAL (ING)" in page
    assert "Receipt reference" in page

    (confirmation,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    said = text_of(confirmation)
    assert "<@U0PAYER> paid i3D.net invoice INV-24-0101" in said
    assert "€96.80" in said and "*Method*\niDEAL (ING)" in said
    assert "€121.00 − credit CRN-24-0003 €24.20 = €96.80" in said
    assert "*Reference*" in said and "*Date*" in said
    assert said.count("U0PAYER") == 1, "who paid is said once"

    _, screen, _ = await h.command("pay CRN-24-0003")  # the credit note, now used
    said = text_of((await h.screen_after(screen)).message)
    assert "It has been used" in said and "taken off when you pay" not in said
    _, screen, _ = await h.command("history crn-24-0003")  # where the credit went, as typed
    story = (await h.screen_after(screen)).message
    assert story["text"].startswith("The story of credit note CRN-24-0003")
    assert story["blocks"][0]["text"]["text"] == "Credit note CRN-24-0003"
    assert "Taken off the payment of INV-24-0101 by <@U0PAYER>: −€24.20" in text_of(story)
    _, screen, _ = await h.command("history INV-24-0101")
    said = text_of((await h.screen_after(screen)).message)
    assert "Settled: €96.80 (€121.00 − credit CRN-24-0003 €24.20 = €96.80) by iDEAL" in said
    settled = await h.next_response(key, 2)
    assert settled["replace_original"] is True
    assert "is paid" in text_of(settled)
    assert not any(b.get("type") == "actions" for b in settled["blocks"])
    assert h.slack.refused == []


async def test_choosing_a_bank_keeps_the_method_when_slack_leaves_it_out_of_the_state(
    harness: Harness,
) -> None:
    """The method select shows iDEAL as its initial option, but Slack may leave a select
    nobody touched out of the state: the bank chosen next still goes with iDEAL."""
    h = harness
    menu = await choose(h, await open_menu(h), "choose_method", "10")
    key = await h.click(menu, "choose_issuer", selected="INGBNL2A", untouched_in_state=False)
    menu = Screen(await h.next_response(key), key)
    _, method_select = find(menu.message, "choose_method", lambda e: True)
    assert method_select["initial_option"]["value"] == "10"
    _, button = find(menu.message, "get_link", lambda e: True)
    assert "iDEAL (ING)" in button["confirm"]["text"]["text"]
    assert h.slack.refused == []


async def test_an_outcome_too_late_for_the_payers_message_comes_in_their_messages(
    harness: Harness,
) -> None:
    """Slack takes a response URL for 30 minutes and 5 uses; a payment often ends later."""
    h = harness
    key, pay_url = await get_link(h)
    h.slack.worn_out.add(key)
    await pay_in_browser(h.http, pay_url)
    assert await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))  # as always
    (told,) = await h.wait_for(lambda: h.slack.posted_to("U0PAYER"))
    assert "Invoice INV-24-0101 is paid: *€96.80*" in text_of(told)
    assert len(h.answers(key)) == 1  # the link; the refused replacement is not counted

    key, pay_url = await get_link(h, "410002")  # a later payment, in time: no second word
    await pay_in_browser(h.http, pay_url, "cancel")
    assert "Payment cancelled" in text_of(await h.next_response(key, 2))
    await asyncio.sleep(0.3)
    assert len(h.slack.posted_to("U0PAYER")) == 1


async def test_a_link_already_out_is_shown_instead_of_a_menu_and_its_owner_may_cancel_it(
    harness: Harness,
) -> None:
    h = harness
    link_key, pay_url = await get_link(h)
    mine = await open_menu(h)  # Pay again on the same invoice: no menu that would refuse
    said = text_of(mine.message)
    assert "You have a payment link for invoice INV-24-0101: *€96.80*" in said
    assert "by iDEAL (ING)" in said
    assert "never opened" in said and not any(
        b.get("block_id", "").startswith("pay:") for b in mine.message["blocks"]
    )
    _, screen, _ = await h.command("", user="U0ADMIN")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", user="U0ADMIN", pick=lambda e: "|410001" in e["value"])
    theirs = text_of(await h.next_response(key))
    assert "<@U0PAYER> has a payment link" in theirs and "sooner if <@U0PAYER> cancels" in theirs
    assert "cancel_link" not in str(await h.next_response(key))  # only its owner may

    _, typed, _ = await h.command("pay INV-24-0101")  # by number, as Pay in the list
    by_number = text_of((await h.screen_after(typed)).message)
    assert "You have a payment link for invoice INV-24-0101" in by_number

    key = await h.click(mine, "cancel_link")
    menu = await h.next_response(key)
    assert "Choose how to pay" in str(menu), "the menu, once the link is cancelled"
    ended = text_of(await h.next_response(link_key, 2))  # the link's own message
    assert "Payment cancelled" in ended and "nothing was charged" in ended
    _, story, _ = await h.command("history INV-24-0101")
    told = text_of((await h.screen_after(story)).message)
    assert "cancelled in Slack before its page was opened" in told and "&lt;@" not in told
    async with h.http.get(pay_url) as page:
        html = await page.text()  # its page never opened: nothing could be charged
        assert page.status == 410 and "cancelled" in html and "Nothing was charged." in html


async def test_a_cancel_whose_menu_is_cut_short_would_say_the_link_was_cancelled(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """While the menu after a cancel is asked for, the answer that stands in should the
    bot stop (`standing_in`) says the link is gone, not that nothing was done; it is
    withdrawn once the menu is shown."""
    h = harness
    await get_link(h)
    mine = await open_menu(h)
    sandbox = i3d_sandbox.app[SANDBOX]
    sandbox.hang_seconds = 1.0
    sandbox.inject("hang", path="/v3/account/invoice/pay/prepare")
    store = h.bot.app[SERVICES].store

    def standing() -> list[str]:
        return [
            str(row["args"]) for row in store.outbox_items() if row["key"].startswith("stand-in:")
        ]

    key = await h.click(mine, "cancel_link")
    said = await h.wait_for(standing, within=5)
    assert "The payment link was cancelled" in said[0] and "nothing was done" not in said[0]
    assert "Choose how to pay" in str(await h.next_response(key))
    await h.wait_for(lambda: not standing())


@pytest.mark.parametrize("way", ["pay in the list", "pay by number"])
async def test_an_unopened_link_for_an_amount_the_provider_no_longer_asks_gives_way(
    harness: Harness, i3d_sandbox: TestServer, way: str
) -> None:
    """Its page would charge the old amount: whoever presses Pay next (or types
    /invoices pay <number>) gets the menu at the new amount, and the link's holder hears
    that it was cancelled."""
    h = harness
    link_key, pay_url = await get_link(h)  # €96.80 after the credit note
    reprice(i3d_sandbox)  # a line added at i3D.net
    if way == "pay by number":
        _, typed, _ = await h.command("pay INV-24-0101", user="U0ADMIN")
        menu = (await h.screen_after(typed)).message
    else:
        _, screen, _ = await h.command("", user="U0ADMIN")
        screen = await h.screen_after(screen)
        pick = lambda e: "|410001" in e["value"]  # noqa: E731
        key = await h.click(screen, "pay", user="U0ADMIN", pick=pick)
        menu = await h.next_response(key)
    said = text_of(menu)
    assert "Choose how to pay" in str(menu) and "has a payment link" not in said
    assert "*Total: €106.80*" in said
    ended = text_of(await h.next_response(link_key, 2))
    assert "Payment cancelled" in ended and "nothing was charged" in ended
    async with h.http.get(pay_url) as page:
        assert page.status == 410 and "cancelled" in await page.text()


async def test_pay_by_number_on_an_invoice_invoicebot_saw_paid_tells_its_payment(
    harness: Harness,
) -> None:
    """The provider would say "paid" in its own words; the settlement says who and how."""
    h = harness
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    _, typed, _ = await h.command("pay inv-24-0101")
    said = text_of((await h.screen_after(typed)).message)
    assert ":white_check_mark: Invoice INV-24-0101 is paid: *€96.80*" in said
    assert "Paid through invoicebot by <@U0PAYER>." in said and "cannot be paid" not in said
    _, story, _ = await h.command("history INV-24-0101")
    told = text_of((await h.screen_after(story)).message)
    after = told.split("Settled", 1)[1]
    assert "asked for the ways to pay it" not in after, "no menu was shown after it was paid"
    assert told.count("asked for the ways to pay it") == 1, told  # the menu before paying


async def test_a_payer_whose_link_message_is_gone_can_open_the_page_again(
    harness: Harness,
) -> None:
    """Slack does not keep a reply only one person saw: Pay again shows the holder the
    link itself, before and after its page was opened; nobody else gets it."""
    h = harness
    _, pay_url = await get_link(h)
    mine = (await open_menu(h)).message
    assert find(mine, "open_link", lambda e: True)[1]["url"] == pay_url
    assert "Open it to pay, or cancel it" in text_of(mine)
    async with h.http.get(pay_url) as page:  # opened, then the tab closed unpaid
        assert page.status == 200
    again = (await open_menu(h)).message
    assert find(again, "open_link", lambda e: True)[1]["url"] == pay_url
    assert "If you closed the page before paying, open it again here" in text_of(again)
    assert "if you paid, do not pay again" in text_of(again)
    _, screen, _ = await h.command("", user="U0ADMIN")
    screen = await h.screen_after(screen)
    key = await h.click(screen, "pay", user="U0ADMIN", pick=lambda e: "|410001" in e["value"])
    theirs = await h.next_response(key)
    assert "/pay/" not in str(theirs) and "open_link" not in str(theirs)
    async with h.http.get(pay_url, allow_redirects=False) as page:
        assert page.status == 200  # the form that takes the browser to i3D.net again
    _, typed, _ = await h.command("pay INV-24-0101")  # by number, the same
    by_number = (await h.screen_after(typed)).message
    assert find(by_number, "open_link", lambda e: True)[1]["url"] == pay_url


def reprice(i3d_sandbox: TestServer) -> None:
    """A line added at i3D.net: INV-24-0101 asks €106.80 after the credit note."""
    invoices = i3d_sandbox.app[SANDBOX].invoices
    invoices["410001"] = invoices["410001"].model_copy(
        update={"amountIncVAT": "13100", "remainingAmount": "13100"}
    )


async def test_an_opened_link_for_an_old_amount_is_not_handed_out_again(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Its page would take €96.80 for an invoice that now asks €106.80: it stands (the
    provider may be taking the money), but nobody is invited to open it again."""
    h = harness
    await opened_link(h)
    reprice(i3d_sandbox)
    again = (await open_menu(h)).message
    assert "open_link" not in str(again) and "/pay/" not in str(again)
    assert "Its page was opened at the provider" in text_of(again)
    assert "The invoice comes to €106.80 now; this link asks for €96.80." in text_of(again)


async def test_a_link_whose_amount_cannot_be_checked_is_shown_without_its_address(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    await get_link(h)
    reprice(i3d_sandbox)
    i3d_sandbox.app[SANDBOX].inject("error", count=10)  # asking it fails
    again = (await open_menu(h)).message
    assert "open_link" not in str(again) and "/pay/" not in str(again)
    assert "cancel_link" in str(again), "its holder may still cancel it"


async def test_a_link_whose_page_was_opened_stands_and_cannot_be_cancelled(
    harness: Harness,
) -> None:
    h = harness
    _, pay_url = await get_link(h)
    mine = await open_menu(h)
    await pay_in_browser(h.http, pay_url, come_back=False)  # opened after the notice
    key = await h.click(mine, "cancel_link")
    said = text_of(await h.next_response(key))
    assert "Its page was opened at the provider" in said and "cancel_link" not in str(said)
    again = text_of((await open_menu(h)).message)
    assert "Its page was opened" in again


async def test_a_link_cancelled_while_its_page_opens_never_reaches_the_provider(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancel's compare-and-set wins between the page reading the link and opening
    it: the page must then refuse, not send the browser on to be charged."""
    h = harness
    _, pay_url = await get_link(h)
    payments = h.bot.app[PAYMENTS]
    opening = payments.force

    def cancelled_first(payment_id: str, sources: Any, target: Any, **fields: Any) -> bool:
        if target is PaymentState.OPENED:
            payment = payments.store.payment(payment_id)
            assert payment is not None
            assert h.bot.app[SERVICES].checkout.withdraw(payment, "U0PAYER")
        return opening(payment_id, sources, target, **fields)

    monkeypatch.setattr(payments, "force", cancelled_first)
    async with h.http.get(pay_url, allow_redirects=False) as page:
        assert page.status == 410 and "cancelled" in await page.text()


async def test_pay_on_an_invoice_invoicebot_saw_paid_says_so_without_asking_the_provider(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    _, screen, _ = await h.command("")
    listed = await h.screen_after(screen)  # kept open while the invoice is paid
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    i3d_sandbox.app[SANDBOX].inject("error", count=10)  # asking it would fail
    key = await h.click(listed, "pay", pick=lambda e: "|410001" in e["value"])  # stale
    said = text_of(await h.next_response(key))
    assert ":white_check_mark: Invoice INV-24-0101 is paid: *€96.80*" in said
    assert "Paid through invoicebot by <@U0PAYER>." in said and "refused" not in said


async def test_a_stale_selection_with_one_invoice_paid_names_what_is_left(
    harness: Harness,
) -> None:
    """Two ticked in a list kept open while one was paid: the answer tells that payment,
    and that the other ticked invoice was not in it, so it is not taken for paid."""
    h = harness
    _, screen, _ = await h.command("i3d")
    listed = await h.screen_after(screen)  # kept open while INV-24-0101 is paid
    _, pay_url = await get_link(h)
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    block, _ = find(listed.message, "select_invoices", lambda e: True)
    ticked = [o for o in block["elements"][0]["options"] if o["value"] in ("410001", "410002")]
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": ticked}}
    }
    key = await h.click(listed, "pay_selected", block_id=block["block_id"], state=state)
    said = text_of(await h.next_response(key))
    assert ":white_check_mark: Invoice INV-24-0101 is paid" in said
    assert "The other invoice you chose was not in that payment" in said


async def test_pay_selected_with_nothing_ticked_keeps_the_list(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("i3d")
    listed = await h.screen_after(screen)
    key = await h.click(listed, "pay_selected", state={})
    hint = await h.next_response(key)
    assert hint["replace_original"] is False, "the list stays; the hint comes below it"
    assert "Tick the invoices to pay together first." in text_of(hint)


async def test_back_to_the_list_returns_to_the_list_the_person_came_from(
    harness: Harness,
) -> None:
    h = harness
    _, screen, _ = await h.command("i3d overdue")
    listed = await h.screen_after(screen)
    assert "Overdue invoices" in text_of(listed.message)
    key = await h.click(listed, "pay")
    menu = Screen(await h.next_response(key), key)
    key = await h.click(menu, "back_to_list")
    back = await h.next_response(key)
    assert back["replace_original"] is True
    assert "Overdue invoices" in text_of(back)
    key = await h.click(Screen(back, key), "pay", user="U0ADMIN")
    menu = Screen(await h.next_response(key), key)
    key = await h.click(menu, "back_to_list", user="U0ADMIN")  # who never listed
    assert "Overdue invoices" not in text_of(await h.next_response(key))


async def menu_for_two(h: Harness) -> Screen:
    """/invoices i3d, INV-24-0101 and INV-24-0087 ticked, Pay selected: their menu."""
    _, screen, _ = await h.command("i3d")
    screen = await h.screen_after(screen)
    block, _ = find(screen.message, "select_invoices", lambda e: True)
    ticked = [o for o in block["elements"][0]["options"] if o["value"] in ("410001", "410002")]
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": ticked}}
    }
    key = await h.click(screen, "pay_selected", block_id=block["block_id"], state=state)
    return Screen(await h.next_response(key), key)


async def test_paying_several_invoices_of_one_provider_together(harness: Harness) -> None:
    h = harness
    menu = await menu_for_two(h)
    assert "*Total: €459.80*" in text_of(menu.message)  # €121 + €363 less a €24.20 credit
    assert "INV-24-0101" in text_of(menu.message) and "INV-24-0087" in text_of(menu.message)

    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    _, open_button = find(await h.next_response(key), "open_link", lambda e: True)
    await pay_in_browser(h.http, open_button["url"])
    (confirmation,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    notification = confirmation["text"]  # what a phone shows
    assert notification.startswith("Paid: i3D.net invoices INV-24-")
    assert " and INV-24-" in notification and ", €459.80 by iDEAL (ING)" in notification


async def test_get_link_after_the_menu_asks_the_provider_once(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """The menu fetched the offer; Get link registers it and asks nothing again."""
    h = harness
    menu = await open_menu(h)
    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    sandbox = i3d_sandbox.app[SANDBOX]
    before = len(sandbox.requests)
    key = await h.click(menu, "get_link")
    link = await h.next_response(key)
    assert find(link, "open_link", lambda e: True)[1]["url"]
    assert [seen.path for seen in list(sandbox.requests)[before:]] == [
        "/v3/account/invoice/pay/register"
    ]


async def test_the_holder_of_a_link_for_several_invoices_can_open_it_from_one_of_them(
    harness: Harness,
) -> None:
    """Pay on one of the link's invoices checks the link's own total, not that one's."""
    h = harness
    menu = await choose(h, await menu_for_two(h), "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    _, open_button = find(await h.next_response(key), "open_link", lambda e: True)
    again = (await open_menu(h, "410001")).message
    assert "You have a payment link" in text_of(again)
    assert find(again, "open_link", lambda e: True)[1]["url"] == open_button["url"]


async def test_pay_by_number_with_a_slow_provider_shows_the_link_soon_saying_why_not_its_address(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    h = harness
    await opened_link(h)
    i3d_sandbox.app[SANDBOX].inject("hang", count=5, path="/v3/account/invoice/pay/prepare")
    started = asyncio.get_running_loop().time()
    _, screen, _ = await h.command("pay INV-24-0101")
    shown = (await h.screen_after(screen)).message
    waited = asyncio.get_running_loop().time() - started
    assert waited < 5, f"nothing shown for {waited:.1f} s"
    assert "/pay/" not in str(shown)
    assert "could not confirm what the invoice comes to today" in text_of(shown)


@pytest.mark.parametrize(
    ("method", "agent"),
    [
        ("HEAD", "Mozilla/5.0"),
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
        ("GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"),
    ],
)
async def test_a_link_previewed_where_it_was_pasted_is_not_opened(
    harness: Harness, method: str, agent: str
) -> None:
    """A chat app fetching a pasted link for its preview is not the payer: the link
    stays cancellable, the provider is not reached, and the preview names no invoice."""
    h = harness
    _, pay_url = await get_link(h)
    token = pay_url.rsplit("/", 1)[1]
    payments = h.bot.app[PAYMENTS]
    async with h.http.request(method, pay_url, headers={"User-Agent": agent}) as preview:
        assert preview.status == 200
        shown = await preview.text()
    assert "INV-24-0101" not in shown and "96.80" not in shown
    assert payments.redeem(token).state is PaymentState.LINK_ISSUED
    async with h.http.get(pay_url) as opened:
        assert opened.status == 200 and "INV-24-0101" in await opened.text()
    assert payments.redeem(token).state is PaymentState.OPENED


async def test_a_credit_note_taken_off_a_live_link_is_not_taken_off_a_second(
    harness: Harness,
) -> None:
    """CRN-24-0003 comes off the first payment i3D.net prepares; while that link lives,
    a payment of other invoices that i3D.net would also net it against is refused, and
    Pay says so at once: a menu would show a total that Get link could only refuse."""
    h = harness
    first_key, first_url = await get_link(h, "410002")  # INV-24-0087, less the credit note
    assert "CRN-24-0003" in text_of(await h.next_response(first_key))
    refused, _ = await refused_link(h, "410001")
    said = text_of(refused)
    offered = {e.get("action_id") for b in refused["blocks"] for e in b.get("elements", [])}
    assert not offered & {"choose_method", "get_link"}, said
    _, screen, _ = await h.command("pay INV-24-0101")  # by its number, likewise
    typed = (await h.screen_after(screen)).message
    assert "Credit note CRN-24-0003 is already taken off" in text_of(typed)
    assert "choose_method" not in json.dumps(typed)
    assert "Credit note CRN-24-0003 is already taken off your payment of invoice" in said
    assert "INV-24-0087, which is still under way" in said
    # The link holding it can be cancelled from its own message, which the wait points to.
    assert said.endswith(
        "To free the credit sooner, cancel that link: *Pay* on invoice INV-24-0087 offers "
        "*Cancel that link*."
    ), said
    _, screen, _ = await h.command("pay INV-24-0101", user="U0ADMIN")
    theirs = text_of((await h.screen_after(screen)).message)
    assert theirs.endswith("<@U0PAYER> can cancel that link from *Pay* on invoice INV-24-0087."), (
        theirs
    )
    async with h.http.get(first_url) as opened:  # its page may be taking the money now
        assert opened.status == 200
    held = text_of((await refused_link(h, "410001"))[0])
    assert "is already taken off your payment" in held and "cancel" not in held.lower(), held
    payments = h.bot.app[PAYMENTS]
    assert [p.invoice_numbers for p in payments.store.netting_credits("T0TEAM", "i3d")] == [
        ("INV-24-0087",)
    ]


async def refused_link(h: Harness, invoice_id: str) -> tuple[dict[str, Any], str]:
    """What Pay shows for an invoice no payment may start for, and its response URL."""
    menu = await open_menu(h, invoice_id)
    return menu.message, menu.response_url_id


async def test_two_links_open_in_one_browser_each_come_back_to_their_own_page(
    harness: Harness,
) -> None:
    """A payer opens the link for one invoice, then another's in a second tab, and pays
    the first: its return names that payment's transaction, and the page is about it,
    not about the link opened last."""
    from yarl import URL

    from tests.scenario.harness import forms_in

    h = harness
    _, first = await get_link(h, "410001")  # INV-24-0101
    menu = await choose(h, await open_menu(h, "410005"), "choose_method", "30")  # PayPal
    key = await h.click(menu, "get_link")  # INV-24-0102, in dollars: no credit note
    second = find(await h.next_response(key), "open_link", lambda e: True)[1]["url"]
    async with h.http.get(first) as response:
        (form,) = forms_in(await response.text())
    async with h.http.get(second) as response:
        assert response.status == 200  # the browser's cookie now names both, latest first
    async with h.http.post(form["action"], data=form["fields"]) as response:
        page_url = response.url
        (choice,) = forms_in(await response.text())
    fields = [*choice["fields"], next(b for b in choice["buttons"] if b[1] == "pay")]
    async with h.http.post(str(page_url.join(URL(choice["action"]))), data=fields) as response:
        page = await response.text()
    assert "INV-24-0101" in page and "INV-24-0102" not in page, page


async def test_too_many_ticked_leaves_no_asking_note_in_place_of_the_list(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too many invoices for one menu is known only once the provider answered, after
    the list was replaced by "Asking…": that note is then replaced by the answer, not
    left standing with the list and its buttons gone."""
    from bot.slack.blocks import paying

    monkeypatch.setattr(paying, "MENU_INVOICES", 1)
    h = harness
    _, screen, _ = await h.command("i3d")
    screen = await h.screen_after(screen)
    block, _ = find(screen.message, "select_invoices", lambda e: True)
    ticked = [o for o in block["elements"][0]["options"] if o["value"] in ("410001", "410002")]
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": ticked}}
    }
    key = await h.click(screen, "pay_selected", block_id=block["block_id"], state=state)
    said = await h.next_response(key)
    assert "too many to pay together" in text_of(said)
    assert said["replace_original"] is True, "the list would read Asking… for good"
    key = await h.click(Screen(said, key), "back_to_list")
    assert "INV-24-0101" in text_of(await h.next_response(key))


async def test_pay_on_an_invoice_open_again_after_it_was_paid_here_says_what_to_do(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """Paid through invoicebot two hours ago and listed open again by i3D.net (a
    chargeback, a reversed payment): Pay, in the list or by number, still takes no second
    payment, and says so truthfully: when it was paid here, that i3D.net lists it open
    again, and to check there before paying it again."""
    from datetime import UTC, datetime, timedelta

    h = harness
    stale = await open_menu(h, "410001")  # kept open while the invoice is paid
    stale = await choose(h, stale, "choose_method", "10")
    stale = await choose(h, stale, "choose_issuer", "INGBNL2A")
    _, pay_url = await get_link(h, "410001")
    await pay_in_browser(h.http, pay_url)
    await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    store = h.bot.app[SERVICES].store
    before = datetime.now(UTC) - timedelta(hours=2)
    store.db.execute("UPDATE settlements SET settled_at = ?", [before.isoformat()])
    store.db.execute("UPDATE payments SET paid_at = ? WHERE state = 'paid'", [before.isoformat()])
    store._settled.clear()
    state = i3d_sandbox.app[SANDBOX]
    item = state.invoices["410001"]
    state.invoices["410001"] = item.model_copy(
        update={
            "paymentStatus": 0,
            "paymentDate": 0,
            "remainingAmount": "9680",  # reopened for what was paid for it
            "totalPaidAmount": "0",
        }
    )
    _, screen, _ = await h.command("")
    listed = await h.screen_after(screen)
    assert "open again, though paid with invoicebot on " in text_of(listed.message)
    key = await h.click(listed, "pay", pick=lambda e: "|410001" in e["value"])
    clicked = text_of(await h.next_response(key))
    _, typed, _ = await h.command("pay inv-24-0101")
    by_number = text_of((await h.screen_after(typed)).message)
    key = await h.click(stale, "get_link")
    refused = text_of(await h.next_response(key))
    for said in (clicked, by_number, refused):
        assert "is paid" not in said, said
        assert (
            f"Invoice INV-24-0101 was paid with invoicebot by <@U0PAYER> on "
            f"{before.date().isoformat()}" in said
        ), said
        assert "i3D.net lists it open again" in said, said
        assert "Check its payments at i3D.net before paying it again" in said, said
    assert not [
        p
        for p in store.payments_for_invoices("T0TEAM", "i3d", ["410001"])
        if p.state is PaymentState.LINK_ISSUED
    ]


async def test_an_opened_link_whose_invoice_was_paid_elsewhere_says_so_not_try_again(
    harness: Harness, i3d_sandbox: TestServer
) -> None:
    """One of an opened link's two invoices is booked paid at i3D.net by other means: its
    set can no longer be priced, which no minute's wait changes. Its holder is told why the
    link is not handed out again, not that i3D.net could not answer."""
    h = harness
    menu = await choose(h, await menu_for_two(h), "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    _, open_button = find(await h.next_response(key), "open_link", lambda e: True)
    async with h.http.get(open_button["url"]) as page:
        assert page.status == 200
    async with h.http.post(i3d_sandbox.make_url("/_sandbox/paid"), json={"invoice": "410002"}):
        pass
    said = text_of((await open_menu(h, "410001")).message)
    assert "You have a payment link" in said, said
    assert "/pay/" not in said
    assert "could not confirm" not in said and "try again in a minute" not in said, said
    assert "The link is not handed out again here" in said, said
    assert "Invoice INV-24-0087 is already paid." in said, said
