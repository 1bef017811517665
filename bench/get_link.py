"""Get link: the pay menu already knows the ways to pay, so the click asks i3D.net once.

A payer opens the pay menu of a fresh i3D.net invoice and chooses iDEAL with a bank (the
menu asked i3D which ways it allows: a pay prepare). With i3D answering every call in
`LATENCY` seconds, Get link is timed from the click until the link shows. The limit: one
pay register alone, sent straight to the sandbox for another fresh invoice in the same
round. Two calls in a row (asking for the ways to pay again, then registering) would
take at least twice the limit, hence the target. The sandbox counts the pay calls each
click made (`/_sandbox/calls`): exactly one, the register, every time.
"""

from __future__ import annotations

import statistics
import time

from bench.flows import PayFlow
from bench.i3d import add_one
from bench.report import Figure, Target, ms
from bench.world import World
from plugins.i3d import SANDBOX_TOKEN

LATENCY = 0.1
PREPARE, REGISTER = "/v3/account/invoice/pay/prepare", "/v3/account/invoice/pay/register"
PAY_CALLS = (f"GET {PREPARE}", f"POST {REGISTER}")  # as the sandbox counts them


async def _pay_calls(world: World) -> int:
    async with world.session.get(world.sandbox_urls["i3d"] + "/_sandbox/calls") as answer:
        answer.raise_for_status()
        calls = await answer.json()
    return sum(int(calls.get(route, 0)) for route in PAY_CALLS)


async def _clicked(world: World) -> tuple[float, int]:
    """One payer's Get link: the seconds until the link shows, and the pay calls it made."""
    payment = PayFlow(world, await add_one(world))
    menu = await payment.menu()
    before = await _pay_calls(world)
    took, _ = await payment.link(menu)
    return took, await _pay_calls(world) - before


async def register_alone(world: World) -> float:
    """i3D's own time for one pay register (iDEAL with ING) of a fresh invoice."""
    invoice_id = await add_one(world)
    body = {"invoiceIds": invoice_id, "paymentMethodId": 10, "issuerId": "INGBNL2A"}
    headers = {"PRIVATE-TOKEN": SANDBOX_TOKEN}
    began = time.perf_counter()
    url = world.sandbox_urls["i3d"] + REGISTER
    async with world.session.post(url, json=body, headers=headers) as answer:
        await answer.read()
        answer.raise_for_status()
    return time.perf_counter() - began


class GetLink:
    def __init__(self, quick: bool) -> None:
        self.repeats = 2 if quick else 3  # per round; the round's figure is their median
        self.label = f"Get link, i3D.net answering in {LATENCY * 1000:.0f} ms"

    async def prepare(self, world: World) -> None:
        await world.bot_with()
        await _clicked(world)  # warm-up: the code paths of paying, at no latency

    async def round(self, world: World) -> list[Figure]:
        await world.bot_with()
        await world.set_latency({"i3d": LATENCY})
        try:
            bot, limit, calls = [], [], []
            for _ in range(self.repeats):
                took, made = await _clicked(world)
                bot.append(took)
                calls.append(made)
                limit.append(await register_alone(world))
        finally:
            await world.set_latency({"i3d": 0.0})
        return [
            Figure(
                self.label,
                "click to link",
                ms(statistics.median(bot)),
                "ms",
                ms(statistics.median(limit)),
                Target("<", 2.0),
                limit_note="one pay register alone",
            ),
            Figure(
                self.label,
                "pay calls to i3D.net per click (prepare or register)",
                next((count for count in calls if count != 1), 1),
                "",
                target=Target("==", 1, on="value", every_round=True),
            ),
        ]
