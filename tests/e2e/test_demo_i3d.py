"""Through the local Slack: a payer pays an i3D.net invoice with iDEAL, #billing hears of it."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp

from bot.demo import Demo
from plugins.i3d.sandbox import SANDBOX
from slack_emulator import EMULATOR
from tests.e2e.conftest import BILLING, Person, button_value, url_of
from tests.scenario.harness import pay_in_browser


async def test_a_payer_pays_an_i3d_invoice_with_ideal(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    pat = person("U0PAYER")
    await pat.types("i3d")
    listing = await pat.sees("INV-24-0101")
    await pat.clicks(listing, "pay", value=button_value(listing, "pay", "|410001|"))
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="10")
    menu = await pat.sees("Choose your bank")
    await pat.clicks(menu, "choose_issuer", selected="INGBNL2A")
    menu = await pat.sees("iDEAL (ING)")
    await pat.clicks(menu, "get_link")
    link = await pat.sees("Open payment page")

    landed, page = await pay_in_browser(browser, url_of(link, "open_link"))
    assert "/landing/i3d" in landed and "Invoice paid" in page

    slack = demo.slack[EMULATOR]
    posted = await slack.wait_until(lambda: slack.messages(BILLING))
    assert len(posted) == 1
    assert "<@U0PAYER> paid i3D.net invoice INV-24-0101" in str(posted[0].blocks)
    await pat.sees("is paid")


async def test_someone_who_may_not_pay_is_told_so(person: Callable[[str], Person]) -> None:
    val = person("U0VIEWER")
    await val.types("i3d")
    listing = await val.sees("INV-24-0101")
    assert "Only people chosen as payers can pay invoices" in str(listing.blocks)
    assert '"pay"' not in json.dumps(listing.blocks)  # no Pay button to be refused on
    await val.types("pay INV-24-0101")
    refusal = await val.sees("not allowed to pay")
    assert "ask an admin" in str(refusal.blocks) and "INVOICEBOT_" not in str(refusal.blocks)


async def test_a_failing_provider_is_named_and_slack_rate_limits_are_survived(
    person: Callable[[str], Person], browser: aiohttp.ClientSession, demo: Demo
) -> None:
    sandbox = demo.sandboxes["i3d"][SANDBOX]
    sandbox.inject("error", count=50)
    pat = person("U0PAYER")
    await pat.types("i3d")
    await pat.sees(":warning: *i3D.net*")
    sandbox.clear_faults()

    slack = demo.slack[EMULATOR]
    slack.faults.rate_limit("chat.postMessage", times=2, retry_after=1)
    await pat.types("pay INV-24-0101")
    menu = await pat.sees("Choose how to pay")
    await pat.clicks(menu, "choose_method", selected="20")
    menu = await pat.sees("Get payment link")
    await pat.clicks(menu, "get_link")
    link = await pat.sees("Open payment page")
    await pay_in_browser(browser, url_of(link, "open_link"))
    posted = await slack.wait_until(lambda: slack.messages(BILLING), seconds=15)
    assert len(posted) == 1
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 2
