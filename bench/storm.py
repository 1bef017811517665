"""Landing storm: 1,000 landings at once on a payment the provider has just taken.

Each round, a payer pays a fresh i3D.net invoice through the local Slack and the
sandbox's payment page but stays there; then 1,000 concurrent requests, all the same
(the landing URL with the payer's cookie, as reloads or a replayed link send them), hit
the landing while the poller runs too. Exactly one confirmation may reach #billing. The
limit: the same load on the bot's `/healthz`, the same server doing no work.

A storm lasts a fifth of a second, so one hiccup of the machine moves it by a tenth: a
round storms `PAIRS` fresh payments, each beside a `/healthz` storm, taking turns at going
first, and gives the median of each. Whichever goes first meets the payment's settling
(the landing's own, or the poller's); when `/healthz` goes first, the landing storm that
follows often meets a payment the poller confirmed a moment before.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from typing import Any

import aiohttp
from yarl import URL

from bench.flows import PayFlow
from bench.i3d import add_one
from bench.report import Figure, Target
from bench.world import BILLING, World
from bot.pages import PAYMENT_COOKIE
from tests.scenario.harness import pay_in_browser

STORM = 1000
PAIRS = 4  # storms of each kind per round; even, so each kind goes first as often
PAID = "Invoice paid"  # what a landing shows once the payment is settled


async def _link(world: World, invoice_id: str) -> str:
    """Through Slack: pay LOAD-<invoice_id> by iDEAL with ING, and get the payment link."""
    payment = PayFlow(world, invoice_id)
    _, url = await payment.link(await payment.menu())
    return url


def confirmations(world: World) -> int:
    return sum("paid" in m.text.casefold() for m in world.emulator.messages(BILLING))


async def paid_landing(world: World) -> tuple[str, str]:
    """A fresh invoice paid at the sandbox by a payer who stays there: where the browser
    would land, and the payer's cookie."""
    pay_url = await _link(world, await add_one(world))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        landing, _ = await pay_in_browser(browser, pay_url, come_back=False)
        cookie = browser.cookie_jar.filter_cookies(URL(landing))[PAYMENT_COOKIE].value
    return landing, cookie


def storm_load(url: str | list[str], cookie: str) -> dict[str, Any]:
    """All at once, with the payer's cookie; several URLs take the landings round robin."""
    return {
        "url": url,
        "requests": STORM,
        "concurrency": STORM,
        "cookies": {PAYMENT_COOKIE: cookie},
    }


async def posted_since(world: World, before: int) -> int:
    """Confirmations in #billing since there were `before`, once the next looks of the
    poller and the outbox, which would post a second, have passed."""
    with contextlib.suppress(TimeoutError):  # counted: no confirmation
        await world.emulator.wait_until(lambda: confirmations(world) > before, 30)
    await asyncio.sleep(3)
    return confirmations(world) - before


class Storm:
    def __init__(self, quick: bool) -> None:
        self.label = f"landing storm, {STORM:,} concurrent"

    async def prepare(self, world: World) -> None:
        await world.bot_with()

    async def round(self, world: World) -> list[Figure]:
        bot = await world.bot_with()
        rates: dict[str, list[float]] = {"landing": [], "healthz": []}
        errors = wrong = 0
        posted: list[int] = []
        for pair in range(PAIRS):
            before = confirmations(world)  # before paying: the poller may confirm at once
            landing, cookie = await paid_landing(world)
            spec = storm_load(landing, cookie)
            loads = {
                "landing": {**spec, "expect": PAID},
                "healthz": {**spec, "url": f"{bot.url}/healthz"},
            }
            for kind in sorted(loads, reverse=pair % 2 == 0):  # landing first in even pairs
                result = await world.load(loads[kind])
                rates[kind].append(STORM / result["elapsed"])
                errors += STORM - result["statuses"].get("200", 0)
                if kind == "landing":
                    wrong += STORM - result["expected"]
            posted.append(await posted_since(world, before))
        return [
            Figure(
                self.label,
                "requests/s (all at once)",
                statistics.median(rates["landing"]),
                "req/s",
                statistics.median(rates["healthz"]),
                Target(">=", 0.9),
                limit_note="/healthz",
            ),
            Figure(
                self.label,
                "confirmations in #billing, each payment",
                next((count for count in posted if count != 1), 1),
                "",
                target=Target("==", 1, on="value", every_round=True),
            ),
            Figure(
                self.label,
                "errors; landings not showing 'paid'",
                errors + wrong,
                "",
                target=Target("==", 0, on="value", every_round=True),
            ),
        ]
