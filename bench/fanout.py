"""Fan-out: `/invoices` with three providers answering in 300, 600 and 900 ms.

The providers are asked at the same time, so the list should take about as long as the
slowest one alone. That limit is measured here too, alternating with the bot: the
slowest sandbox's invoice list, fetched directly.
"""

from __future__ import annotations

import statistics

from bench.flows import list_invoices
from bench.i3d import first_page_alone
from bench.report import Figure, Target, ms
from bench.world import World

LATENCIES = {"i3d": 0.9, "pingproxies": 0.6, "payfirma": 0.3}


class Fanout:
    def __init__(self, quick: bool) -> None:
        self.repeats = 2 if quick else 3  # per round; the round's figure is their median

    async def prepare(self, world: World) -> None:
        await world.bot_with()
        await world.set_latency(LATENCIES)
        try:
            await list_invoices(world)  # warm-up: sign-ins and tokens are not the point here
        finally:
            await world.set_latency({name: 0.0 for name in LATENCIES})

    async def round(self, world: World) -> list[Figure]:
        await world.bot_with()
        await world.set_latency(LATENCIES)
        try:
            bot, limit = [], []
            for _ in range(self.repeats):
                bot.append((await list_invoices(world))[0])
                limit.append(await first_page_alone(world))
        finally:
            await world.set_latency({name: 0.0 for name in LATENCIES})
        return [
            Figure(
                "fan-out, 3 providers (0.3/0.6/0.9 s)",
                "command to final list",
                ms(statistics.median(bot)),
                "ms",
                ms(statistics.median(limit)),
                Target("<=", 1.10),
                limit_note="i3D alone",
            )
        ]
