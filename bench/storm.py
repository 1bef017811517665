"""Landing storm: 1,000 browsers land at once on a payment the provider has just taken.

A payer pays an i3D.net invoice through the local Slack and the sandbox's payment page
but stays there; then 1,000 concurrent requests hit the landing URL with the payer's
cookie while the poller runs too. Exactly one confirmation may reach #billing. The limit
is the same load on the bot's `/healthz`: the same server doing no work.
"""

from __future__ import annotations

import asyncio

import aiohttp

from bench.flows import button, list_invoices
from bench.report import Row
from bench.world import BILLING, CHANNEL, USER, World
from bot.pages import PAYMENT_COOKIE
from tests.scenario.harness import pay_in_browser

STORM = 1000


async def _link(world: World) -> str:
    """Through Slack: pay INV-24-0101 by iDEAL with ING, and get the payment link."""
    slack = world.emulator

    async def shown(wanted: str) -> object:
        def find() -> object:
            for message in reversed(slack.ephemerals(USER, CHANNEL)):
                if wanted in message.text + str(message.blocks):
                    return message
            return None

        return await slack.wait_until(find, 30)

    _, listing = await list_invoices(world, "i3d")
    pay = button(listing, "pay", "|410001|")
    await slack.click(USER, listing, "pay", value=pay["value"])
    menu = await shown("Choose how to pay")
    await slack.click(USER, menu, "choose_method", selected="10")  # type: ignore[arg-type]
    menu = await shown("Choose your bank")
    await slack.click(USER, menu, "choose_issuer", selected="INGBNL2A")  # type: ignore[arg-type]
    menu = await shown("iDEAL (ING)")
    await slack.click(USER, menu, "get_link")  # type: ignore[arg-type]
    link = await shown("Open payment page")
    return str(button(link, "open_link")["url"])  # type: ignore[arg-type]


def _confirmations(world: World) -> int:
    return sum("paid" in m.text.casefold() for m in world.emulator.messages(BILLING))


async def measure(world: World) -> list[Row]:
    bot = world.bot or await world.start_bot()
    pay_url = await _link(world)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        landing, _ = await pay_in_browser(browser, pay_url, come_back=False)
        cookie = browser.cookie_jar.filter_cookies(landing)[PAYMENT_COOKIE].value
    before = _confirmations(world)
    spec = {
        "url": landing,
        "requests": STORM,
        "concurrency": STORM,
        "cookies": {PAYMENT_COOKIE: cookie},
    }
    storm = await world.load({**spec, "expect": "Invoice paid"})
    floor = await world.load({**spec, "url": f"{bot.url}/healthz"})
    await world.emulator.wait_until(lambda: _confirmations(world) > before, 30)
    await asyncio.sleep(3)  # the poller's next look, and the outbox's, would post a second
    posted = _confirmations(world) - before
    rate = STORM / storm["elapsed"]
    limit = STORM / floor["elapsed"]
    errors = storm["failed"] + STORM - storm["statuses"].get("200", 0)
    wrong = STORM - storm["expected"]
    label = f"landing storm, {STORM:,} concurrent"
    return [
        Row(
            label,
            "requests/s (all at once)",
            f"{rate:.0f} req/s",
            f"{limit:.0f} req/s /healthz",
            rate / limit,
            ">= 1000 req/s",
            rate >= 1000 and errors == 0 and wrong == 0,
        ),
        Row(
            label,
            "confirmations in #billing; errors",
            f"{posted}; {errors} errors, {wrong} not 'paid'",
            "1; 0",
            None,
            "exactly 1; 0",
            posted == 1 and errors == 0 and wrong == 0,
        ),
    ]
