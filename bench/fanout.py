"""Fan-out: `/invoices` with three providers answering in 300, 600 and 900 ms.

The providers are asked at the same time, so the list should take about as long as the
slowest one alone. That limit is measured here too: the slowest sandbox's invoice list,
fetched directly.
"""

from __future__ import annotations

import statistics
import time

from bench.flows import list_invoices
from bench.report import Row, ms
from bench.world import World

LATENCIES = {"i3d": 0.9, "pingproxies": 0.6, "payfirma": 0.3}


async def _slowest_alone(world: World) -> float:
    """i3D's own time to answer its invoice list, as a plain HTTP client sees it."""
    from plugins.i3d import SANDBOX_TOKEN

    began = time.perf_counter()
    async with world.session.get(
        world.sandbox_urls["i3d"] + "/v3/account/invoice",
        headers={"PRIVATE-TOKEN": SANDBOX_TOKEN, "RANGED-DATA": "start=0,results=100"},
    ) as response:
        await response.read()
        response.raise_for_status()
    return time.perf_counter() - began


async def measure(world: World, *, repeats: int) -> list[Row]:
    world.bot or await world.start_bot()
    await world.set_latency(LATENCIES)
    try:
        await list_invoices(world)  # warm-up: sign-ins and tokens are not the point here
        bot, limit = [], []
        for _ in range(repeats):
            bot.append((await list_invoices(world))[0])
            limit.append(await _slowest_alone(world))
    finally:
        await world.set_latency({name: 0.0 for name in LATENCIES})
    took, alone = statistics.median(bot), statistics.median(limit)
    return [
        Row(
            "fan-out, 3 providers (0.3/0.6/0.9 s)",
            "command to final list (median)",
            ms(took),
            ms(alone),
            took / alone,
            "<= 1.10x",
            took <= 1.1 * alone,
        )
    ]
