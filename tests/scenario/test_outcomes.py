"""What a finance person sees when a payment does not go through, and how credit notes
and several invoices at once read."""

from __future__ import annotations

import aiohttp
from yarl import URL

from tests.scenario.harness import Harness, Screen, find, pay_in_browser, text_of
from tests.scenario.test_paying import choose, get_link


async def test_a_declined_payment_says_so_and_try_again_starts_afresh(harness: Harness) -> None:
    h = harness
    key, url = await get_link(h)
    _, page = await pay_in_browser(h.http, url, "decline")
    assert "Payment failed" in page and "Try again" in page

    ended = await h.next_response(key, 2)
    said = text_of(ended)
    assert "Payment failed:" in said and "INV-24-0101" in said
    assert "open_link" not in str(ended), "no dead link is offered"
    retry = Screen(ended, key)
    _, again = find(ended, "pay", lambda e: e["text"]["text"] == "Try again")
    assert "|410001" in again["value"]

    async with h.http.get(url) as reopened:
        html = await reopened.text()
    assert "This payment failed" in html and "was failed" not in html
    assert "Try again" in html

    key = await h.click(retry, "pay")
    menu = Screen(await h.next_response(key), key)
    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    link = await h.next_response(key)
    _, fresh = find(link, "open_link", lambda e: True)
    assert fresh["url"] != url
    _, page = await pay_in_browser(h.http, fresh["url"])
    assert "Invoice paid" in page
    (confirmation,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    assert "INV-24-0101" in text_of(confirmation), "payables' failures are not posted by default"


async def test_a_cancelled_payment_says_cancelled_with_try_again(harness: Harness) -> None:
    h = harness
    key, url = await get_link(h)
    _, page = await pay_in_browser(h.http, url, "cancel")
    ended = await h.next_response(key, 2)
    said = text_of(ended)  # i3D.net's page can still take money: it stays watched
    assert "Payment cancelled" in said and "nothing was charged" not in said
    assert "If it was paid there after all, invoicebot tells you here" in said
    find(ended, "pay", lambda e: e["text"]["text"] == "Try again")
    async with h.http.get(url) as reopened:
        again = await reopened.text()
    for shown in (page, again):  # the payer's browser promises no more than Slack does
        assert "cancelled" in shown and "Nothing was charged" not in shown
        assert "left without paying" in shown, shown
        # "the payment is still confirmed" read as if it were confirmed, beside "cancelled"
        assert "If it was paid there after all, it is recorded as paid once" in shown, shown
        assert "still confirmed" not in shown


async def test_a_credit_note_reads_as_a_credit_and_pay_explains_it(harness: Harness) -> None:
    h = harness
    _, screen, _ = await h.command("i3d")
    listing = text_of((await h.screen_after(screen)).message)
    credit = listing.split("*CRN-24-0003*")[1].split("\n\n")[0].split("\n*INV")[0]
    assert "*−€24.20* credit" in credit and "due" not in credit
    assert " invoices and 1 credit note · To pay" in listing  # not counted as a bill

    _, screen, _ = await h.command("pay CRN-24-0003")
    said = text_of((await h.screen_after(screen)).message)
    assert "credit note" in said and "cannot be paid: it is open" not in said
    assert "taken off when you pay the invoice it belongs to" in said


async def test_several_invoices_are_offered_together_only_in_one_currency(
    harness: Harness,
) -> None:
    h = harness
    _, screen, _ = await h.command("i3d")
    message = (await h.screen_after(screen)).message
    groups = [
        [o["text"]["text"] for o in element["options"]]
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "select_invoices"
    ]
    assert len(groups) == 2
    for group in groups:
        symbols = {"$" if "$" in label else "€" for label in group}
        assert len(symbols) == 1, group


async def test_a_stale_selection_mixing_currencies_is_refused_in_words(harness: Harness) -> None:
    """The list never offers € and $ together; a forged or stale click that does is
    refused before any payment starts."""
    h = harness
    _, screen, _ = await h.command("i3d")
    screen = await h.screen_after(screen)
    block, _ = find(screen.message, "select_invoices", lambda e: True)
    forged = [
        {"text": {"type": "plain_text", "text": number}, "value": number}
        for number in ("410001", "410006")  # INV-24-0101 in €, INV-24-0103 in $
    ]
    state = {
        block["block_id"]: {"select_invoices": {"type": "checkboxes", "selected_options": forged}}
    }
    key = await h.click(screen, "pay_selected", block_id=block["block_id"], state=state)
    said = text_of(await h.next_response(key))
    assert "different currencies" in said or "EUR and USD" in said
    assert "Get payment link" not in said


async def test_a_cancel_whose_invoice_was_paid_since_promises_nothing(harness: Harness) -> None:
    """Paying through a fresh link ends the watch over a cancel the browser reported; its
    pages then say neither that nothing was charged nor to start again."""
    h = harness
    key, url = await get_link(h)
    landing, _ = await pay_in_browser(h.http, url, "cancel")
    # i3D.net lands without naming the payment: the browser's cookie does, and the next
    # payment replaces it. This browser keeps the cancelled one's.
    cookies = h.http.cookie_jar.filter_cookies(URL(landing))
    came_back = {name: morsel.value for name, morsel in cookies.items()}
    ended = await h.next_response(key, 2)
    retry = Screen(ended, key)
    key = await h.click(retry, "pay")
    menu = Screen(await h.next_response(key), key)
    menu = await choose(h, menu, "choose_method", "10")
    menu = await choose(h, menu, "choose_issuer", "INGBNL2A")
    key = await h.click(menu, "get_link")
    _, fresh = find(await h.next_response(key), "open_link", lambda e: True)
    _, page = await pay_in_browser(h.http, fresh["url"])
    assert "Invoice paid" in page
    async with aiohttp.ClientSession(cookies=came_back) as browser:
        shown_again = [await _shown(browser, address) for address in (landing, url)]
    for shown in shown_again:
        assert "cancelled" in shown and "left without paying" in shown, shown
        assert "Nothing was charged" not in shown and "still confirmed" not in shown
        assert "since been paid through another payment" in shown and "Try again" not in shown
    (confirmation,) = await h.wait_for(lambda: h.slack.posted_to("C0BILLING"))
    assert "INV-24-0101" in text_of(confirmation)


async def _shown(browser: aiohttp.ClientSession, address: str) -> str:
    async with browser.get(address) as response:
        return await response.text()
