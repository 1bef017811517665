"""Through the local Slack: PingProxies invoices paid with a saved card, or by redirect."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from yarl import URL

from bot.demo import Demo
from slack_emulator import EMULATOR
from tests.e2e.conftest import BILLING, Person, button_value, url_of
from tests.scenario.harness import forms_in


async def test_a_saved_card_is_charged_after_a_danger_confirm(
    person: Callable[[str], Person], demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("pingproxies")
    listing = await pat.sees("PING-0101")
    await pat.clicks(listing, "pay", value=button_value(listing, "pay", "|inv_sbx0101|"))
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="pm_sbxVisa4242")
    menu = await pat.sees("Pay now")
    button = next(
        e for b in menu.blocks for e in b.get("elements", []) if e.get("action_id") == "get_link"
    )
    assert button["style"] == "danger"
    assert button["confirm"]["style"] == "danger"
    assert "Charge *$129.00* to *Visa •••• 4242* now" in button["confirm"]["text"]["text"]
    await pat.clicks(menu, "get_link")
    await pat.sees("is paid")
    slack = demo.slack[EMULATOR]
    (posted,) = await slack.wait_until(lambda: slack.messages(BILLING))
    assert "paid PingProxies invoice PING-0101" in str(posted.blocks)
    assert "Visa •••• 4242" in str(posted.blocks)


async def pay_with_a_declining_card(pat: Person) -> str:
    """`/invoices pay PING-0087` with the sandbox's card that is always declined; what the
    payer is shown."""
    await pat.types("pay PING-0087")
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="pm_sbxVisa0002")
    menu = await pat.sees("Pay now")
    await pat.clicks(menu, "get_link")
    return str((await pat.sees("Your card was declined")).blocks)


async def test_a_declined_card_says_why_and_nothing_is_confirmed(
    person: Callable[[str], Person], demo: Demo
) -> None:
    declined = await pay_with_a_declining_card(person("U0PAYER"))
    assert "PingProxies could not take the payment: Your card was declined." in declined
    assert "refused" not in declined and "declined; request id" not in declined
    slack = demo.slack[EMULATOR]
    assert slack.messages(BILLING) == []


async def test_a_redirect_payment_lands_and_is_confirmed(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("pay PING-0101")
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="stripe")
    menu = await pat.sees("Get payment link")
    await pat.clicks(menu, "get_link")
    link = await pat.sees("Open payment page")
    async with browser.get(url_of(link, "open_link")) as checkout:
        assert checkout.status == 200
        (form,) = forms_in(await checkout.text())
        action = checkout.url.join(URL(form["action"]))
    async with browser.post(action, data={"action": "pay"}) as landed:
        assert "/landing/pingproxies" in str(landed.url)
        assert "Invoice paid" in await landed.text()
    slack = demo.slack[EMULATOR]
    (posted,) = await slack.wait_until(lambda: slack.messages(BILLING))
    assert "paid PingProxies invoice PING-0101" in str(posted.blocks)
